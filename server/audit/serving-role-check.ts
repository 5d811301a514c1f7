// Could the role Porthole serves as rewrite its own audit log? The triggers that keep audit_events
// append-only stop the serving role only if it cannot switch them off: it must not be a superuser, own
// the table, its schema or its trigger functions, nor be able to become a role that does (SET ROLE
// through membership, or CREATEROLE, which before PostgreSQL 16 can grant itself any membership).
// Production refuses to start on any of these; development warns; /readyz reports it.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';

interface RoleFacts {
  role: string;
  superuser: boolean;
  createrole: boolean;
  table_owner: string;
  owns_table: boolean;
  can_become_table_owner: boolean;
  schema_owner: string;
  can_become_schema_owner: boolean;
  trigger_functions: string[];
}

/** Every way the current role could rewrite the audit log; empty when it can only append. */
export async function auditLogRewriteRisks(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<RoleFacts>`
    select r.rolname as role, r.rolsuper as superuser, r.rolcreaterole as createrole,
      pg_get_userbyid(c.relowner) as table_owner,
      c.relowner = r.oid as owns_table,
      c.relowner <> r.oid and pg_has_role(r.oid, c.relowner, 'MEMBER') as can_become_table_owner,
      pg_get_userbyid(n.nspowner) as schema_owner,
      pg_has_role(r.oid, n.nspowner, 'MEMBER') as can_become_schema_owner,
      array(select distinct p.oid::regprocedure::text from pg_trigger t join pg_proc p on p.oid = t.tgfoid
            where t.tgrelid = c.oid and pg_has_role(r.oid, p.proowner, 'MEMBER') order by 1) as trigger_functions
    from pg_roles r, pg_class c join pg_namespace n on n.oid = c.relnamespace
    where r.rolname = current_user and c.oid = 'public.audit_events'::regclass`.execute(db);
  const facts = rows[0];
  if (!facts) return ['the audit table public.audit_events was not found'];
  const risks: string[] = [];
  const me = `the serving role "${facts.role}"`;
  if (facts.superuser) risks.push(`${me} is a superuser`);
  if (facts.owns_table) risks.push(`${me} owns the audit table (it can disable its triggers)`);
  if (facts.can_become_table_owner) risks.push(`${me} can SET ROLE to the audit table's owner "${facts.table_owner}"`);
  if (facts.can_become_schema_owner && !facts.superuser) {
    risks.push(
      `${me} owns, or can become the owner "${facts.schema_owner}" of, the audit table's schema (it can drop the table)`,
    );
  }
  if (facts.trigger_functions.length && !facts.owns_table) {
    risks.push(`${me} owns, or can become the owner of, the audit trigger functions ${facts.trigger_functions.join(', ')}`);
  }
  if (facts.createrole && !facts.superuser) risks.push(`${me} has CREATEROLE (it can grant itself the owner's membership)`);
  return risks;
}

/** What an operator does about it, printed with the refusal. */
export const AUDIT_LOG_FIX =
  'Run migrations as a separate owner role (TOOLS_MIGRATION_URL) and serve as a plain login role that the ' +
  'migrations grant to (README: "Two roles for the tools database"); the serving role must not own, or be able ' +
  'to become, the owner of the audit table, its schema or its functions.';
