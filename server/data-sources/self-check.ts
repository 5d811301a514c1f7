// The startup self-check of a data source (THREATS.md 20-21): connected as the source's own role, it
// asks PostgreSQL what that role could do beyond reading. A source whose role is a superuser, can write,
// create, own or sign anything, or that turns out to be Porthole's own tools database, is refused with
// every problem named. Gaps that Porthole's own walls cover (temporary tables, large-object and session
// functions left callable, as on RDS where the master user cannot revoke them) are warnings.
import type pg from 'pg';
import { DENIED_FUNCTIONS } from '../engine/function-classification.js';

export interface SelfCheckResult {
  role: string;
  problems: string[];
  warnings: string[];
}

export interface DatabaseIdentity {
  systemIdentifier: string | null;
  databaseOid: string;
  database: string;
}

/** Predefined or cloud roles whose members can write files, run programs, write all data or administer. */
const POWERFUL_ROLES = [
  'pg_write_server_files',
  'pg_execute_server_program',
  'pg_read_server_files',
  'pg_write_all_data',
  'pg_signal_backend',
  'pg_checkpoint',
  'pg_create_subscription',
  'pg_maintain',
  'rds_superuser',
  'rds_replication',
  'rds_password',
  'azure_pg_admin',
  'cloudsqlsuperuser',
];

/** pg_catalog functions whose effects outlive a rolled-back read-only run (WAL records, transaction ids). */
const WAL_WRITERS = Object.entries(DENIED_FUNCTIONS)
  .filter(([, kind]) => kind === 'wal')
  .map(([name]) => name);

const LARGE_OBJECT_WRITERS = ['lo_from_bytea', 'lo_create', 'lo_creat', 'lo_import', 'lo_put', 'lo_open', 'lowrite', 'lo_unlink'];

// One statement, run in a read-only transaction as the source's role. Everything it reads is visible to
// any role (catalogs and has_*_privilege), so the check needs no grant of its own.
const CHECK_SQL = `
with me as (select * from pg_roles where rolname = current_user),
relations as (
  select c.oid, c.relkind, format('%I.%I', n.nspname, c.relname) as name
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'
)
select
  me.rolname as role, me.rolsuper, me.rolcreaterole, me.rolcreatedb, me.rolreplication, me.rolbypassrls,
  has_database_privilege(current_database(), 'CREATE') as database_create,
  has_database_privilege(current_database(), 'TEMP') as database_temp,
  (select datdba = me.oid from pg_database where datname = current_database()) as owns_database,
  array(select nspname::text from pg_namespace
        where has_schema_privilege(oid, 'CREATE') and nspname !~ '^pg_(toast|temp)' order by 1 limit 5) as create_schemas,
  array(select name from relations where case when relkind in ('r', 'p', 'v', 'm', 'f') then
          (has_table_privilege(oid, 'INSERT') or has_table_privilege(oid, 'UPDATE') or has_table_privilege(oid, 'DELETE')
               or has_table_privilege(oid, 'TRUNCATE') or has_any_column_privilege(oid, 'INSERT')
               or has_any_column_privilege(oid, 'UPDATE')) else false end
        order by 1 limit 5) as writable_tables,
  array(select name from relations
        where case when relkind = 'S' then has_sequence_privilege(oid, 'UPDATE') else false end order by 1 limit 5)
    as writable_sequences,
  (select count(*) from pg_class where relowner = me.oid) + (select count(*) from pg_namespace where nspowner = me.oid)
    + (select count(*) from pg_proc where proowner = me.oid) as owned_objects,
  array(select rolname::text from pg_roles r where rolname = any($1::text[]) and pg_has_role(me.oid, r.oid, 'MEMBER')
        order by 1) as powerful_roles,
  array(select distinct proname::text from pg_proc where pronamespace = 'pg_catalog'::regnamespace
          and proname = any($2::text[]) and has_function_privilege(oid, 'EXECUTE') order by 1) as large_object_writers,
  array(select distinct proname::text from pg_proc where pronamespace = 'pg_catalog'::regnamespace
          and proname in ('pg_cancel_backend', 'pg_terminate_backend', 'pg_stat_get_activity', 'pg_stat_get_backend_activity')
          and has_function_privilege(oid, 'EXECUTE') order by 1) as open_session_functions,
  array(select distinct proname::text from pg_proc where pronamespace = 'pg_catalog'::regnamespace
          and proname = any($3::text[]) and has_function_privilege(oid, 'EXECUTE') order by 1) as wal_writers,
  array(select p.proname::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where p.proname in ('dblink_connect', 'dblink_exec') and has_function_privilege(p.oid, 'EXECUTE')
        group by 1 order by 1) as dblink_functions,
  to_regclass('public.audit_chain_head') is not null and to_regclass('public.kysely_migration') is not null
    as looks_like_tools_database
from me`;

export const IDENTITY_SQL = `
select (select oid::text from pg_database where datname = current_database()) as database_oid,
       current_database() as database,
       (select system_identifier::text from pg_control_system()) as system_identifier`;

interface CheckRow {
  role: string;
  rolsuper: boolean;
  rolcreaterole: boolean;
  rolcreatedb: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
  database_create: boolean;
  database_temp: boolean;
  owns_database: boolean;
  create_schemas: string[];
  writable_tables: string[];
  writable_sequences: string[];
  owned_objects: string;
  powerful_roles: string[];
  large_object_writers: string[];
  open_session_functions: string[];
  wal_writers: string[];
  dblink_functions: string[];
  looks_like_tools_database: boolean;
}

/** Reads a database's identity; the system identifier may be hidden from the role, so it is optional. */
export async function readIdentity(client: pg.ClientBase): Promise<DatabaseIdentity> {
  try {
    const { rows } = await client.query<{ database_oid: string; database: string; system_identifier: string }>(IDENTITY_SQL);
    return { databaseOid: rows[0]!.database_oid, database: rows[0]!.database, systemIdentifier: rows[0]!.system_identifier };
  } catch {
    const { rows } = await client.query<{ database_oid: string; database: string }>(
      `select (select oid::text from pg_database where datname = current_database()) as database_oid, current_database() as database`,
    );
    return { databaseOid: rows[0]!.database_oid, database: rows[0]!.database, systemIdentifier: null };
  }
}

const list = (names: string[]) => names.join(', ') + (names.length >= 5 ? ', …' : '');

/** Runs the check on one connection of the source; `tools` is the tools database's identity. */
export async function checkDataSourceRole(client: pg.ClientBase, tools: DatabaseIdentity): Promise<SelfCheckResult> {
  await client.query('begin read only');
  try {
    const { rows } = await client.query<CheckRow>(CHECK_SQL, [POWERFUL_ROLES, LARGE_OBJECT_WRITERS, WAL_WRITERS]);
    const identity = await readIdentity(client);
    const r = rows[0]!;
    const problems: string[] = [];
    const warnings: string[] = [];
    const role = `role "${r.role}"`;

    const sameCluster = identity.systemIdentifier !== null && identity.systemIdentifier === tools.systemIdentifier;
    if (r.looks_like_tools_database || (sameCluster && identity.databaseOid === tools.databaseOid)) {
      problems.push(`it points at Porthole's own tools database ("${identity.database}"); data sources must be other databases`);
    }
    if (r.rolsuper) problems.push(`${role} is a superuser`);
    if (r.rolcreaterole) problems.push(`${role} can create roles (CREATEROLE)`);
    if (r.rolcreatedb) problems.push(`${role} can create databases (CREATEDB)`);
    if (r.rolreplication) problems.push(`${role} has REPLICATION`);
    if (r.rolbypassrls) problems.push(`${role} bypasses row-level security (BYPASSRLS)`);
    if (r.owns_database) problems.push(`${role} owns the database`);
    if (r.database_create) problems.push(`${role} can create schemas in the database (CREATE on the database)`);
    if (r.create_schemas.length) problems.push(`${role} can create objects in schema ${list(r.create_schemas)}`);
    if (r.writable_tables.length) problems.push(`${role} can write to ${list(r.writable_tables)}`);
    if (r.writable_sequences.length) problems.push(`${role} can change sequence ${list(r.writable_sequences)}`);
    if (Number(r.owned_objects) > 0) problems.push(`${role} owns ${r.owned_objects} objects (tables, schemas or functions)`);
    if (r.powerful_roles.length) problems.push(`${role} is a member of ${r.powerful_roles.join(', ')}`);

    // What Porthole's runs contain anyway (every run is rolled back and the guard refuses these names), but
    // the grants should close too: on managed databases the master user sometimes cannot.
    if (r.database_temp) warnings.push(`${role} can create temporary tables (TEMPORARY on the database)`);
    if (r.large_object_writers.length) {
      warnings.push(`${role} can call ${r.large_object_writers.join(', ')} (large-object writes; Porthole rolls every run back)`);
    }
    if (r.open_session_functions.length) {
      warnings.push(
        `${role} can call ${r.open_session_functions.join(', ')}: Porthole users share the role; only Porthole's guard keeps one from seeing or stopping another's query`,
      );
    }
    if (r.wal_writers.length) {
      warnings.push(
        `${role} can call ${r.wal_writers.join(', ')}: they write to the write-ahead log even in a read-only transaction that is rolled back (THREATS.md 47); only Porthole's guard refuses them (revoke them with schema/reader-role.sql)`,
      );
    }
    if (r.dblink_functions.length) {
      warnings.push(
        `${role} can call ${r.dblink_functions.join(', ')}: with other credentials a query could open a writable connection`,
      );
    }
    return { role: r.role, problems, warnings };
  } finally {
    await client.query('rollback');
  }
}
