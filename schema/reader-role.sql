-- Porthole's read-only reader role for a main database (DESIGN.md "The engine's layers", layer 1).
-- The role's grants are the boundary: Porthole's parser and read-only transactions are further walls.
--
-- Run it connected to the MAIN database as a superuser (on RDS / Aurora: the master user), once per
-- database Porthole reads, and again after adding schemas. It is safe to re-run (it updates the role).
--
--   psql "postgres://admin@main-db.internal:5432/app" \
--     -v reader_role=porthole_reader \
--     -v reader_password="$(openssl rand -base64 32)" \
--     -v reader_schemas=public \
--     -f schema/reader-role.sql
--
-- What it changes beyond the role itself (all per database, visible in \dp and \df+):
--   * TEMPORARY on the database is revoked from PUBLIC and granted back to every other login role, so
--     only the reader loses temp tables.
--   * EXECUTE on large-object writers (lo_*), on backend signals (pg_cancel_backend,
--     pg_terminate_backend) and on the activity functions that reveal other sessions' SQL
--     (pg_stat_get_activity, pg_stat_get_backend_activity) is revoked from PUBLIC and granted back to
--     pg_signal_backend / pg_read_all_stats, so monitoring roles keep working. All Porthole users share
--     this role, so without this one user could read or cancel another's query. pg_stat_statements
--     (when the extension is installed) is closed the same way.
--   * Advisory locks stay callable: Porthole runs DISCARD ALL after every run, which releases them.
\set ON_ERROR_STOP on

select set_config('porthole.reader_role', :'reader_role', false),
       set_config('porthole.reader_password', :'reader_password', false),
       set_config('porthole.reader_schemas', :'reader_schemas', false);

do $reader$
declare
  reader text := current_setting('porthole.reader_role');
  schema_name text;
  owner_name text;
  other_role text;
  fn regprocedure;
begin
  if reader !~ '^[a-z_][a-z0-9_]{0,62}$' then
    raise exception 'reader_role must be a lower-case SQL identifier, got %', reader;
  end if;
  if not exists (select from pg_roles where rolname = reader) then
    execute format('create role %I login', reader);
  end if;
  execute format('alter role %I login password %L nosuperuser nocreatedb nocreaterole noinherit noreplication nobypassrls connection limit 20',
                 reader, current_setting('porthole.reader_password'));

  -- Session defaults: still read-only and bounded if someone connects as the reader without Porthole.
  execute format('alter role %I set default_transaction_read_only = on', reader);
  execute format('alter role %I set statement_timeout = %L', reader, '5min');
  execute format('alter role %I set lock_timeout = %L', reader, '5s');
  execute format('alter role %I set idle_in_transaction_session_timeout = %L', reader, '1min');
  execute format('alter role %I set temp_file_limit = %L', reader, '1GB');

  -- Database: connect, no temporary tables.
  execute format('revoke all on database %I from %I', current_database(), reader);
  execute format('grant connect on database %I to %I', current_database(), reader);
  for other_role in select rolname from pg_roles where rolcanlogin and rolname <> reader and rolname !~ '^pg_' loop
    execute format('grant temporary on database %I to %I', current_database(), other_role);
  end loop;
  execute format('revoke temporary on database %I from public', current_database());

  -- Tables and views: SELECT only, now and for tables their owners create later.
  foreach schema_name in array string_to_array(replace(current_setting('porthole.reader_schemas'), ' ', ''), ',') loop
    execute format('revoke create on schema %I from public', schema_name);
    execute format('grant usage on schema %I to %I', schema_name, reader);
    execute format('grant select on all tables in schema %I to %I', schema_name, reader);
    for owner_name in select distinct pg_get_userbyid(c.relowner) from pg_class c
                      join pg_namespace n on n.oid = c.relnamespace where n.nspname = schema_name loop
      execute format('alter default privileges for role %I in schema %I grant select on tables to %I', owner_name, schema_name, reader);
    end loop;
  end loop;

  -- Functions every role may call by default that a shared read-only role must not.
  for fn in select p.oid::regprocedure from pg_proc p
            where p.pronamespace = 'pg_catalog'::regnamespace
              and (p.proname in ('lo_from_bytea', 'lo_create', 'lo_creat', 'lo_import', 'lo_export', 'lo_put',
                                 'lo_open', 'lo_unlink', 'lo_truncate', 'lo_truncate64', 'lowrite')) loop
    execute format('revoke execute on function %s from public', fn);
  end loop;
  for fn in select p.oid::regprocedure from pg_proc p
            where p.pronamespace = 'pg_catalog'::regnamespace
              and p.proname in ('pg_cancel_backend', 'pg_terminate_backend') loop
    execute format('revoke execute on function %s from public', fn);
    execute format('grant execute on function %s to pg_signal_backend', fn);
  end loop;
  for fn in select p.oid::regprocedure from pg_proc p
            where p.pronamespace = 'pg_catalog'::regnamespace
              and p.proname in ('pg_stat_get_activity', 'pg_stat_get_backend_activity') loop
    execute format('revoke execute on function %s from public', fn);
    execute format('grant execute on function %s to pg_read_all_stats', fn);
  end loop;
  -- pg_stat_statements, where installed, lists the statements of the role's own sessions, which are
  -- every Porthole user's: closed the same way (re-run this script after installing the extension).
  for fn in select p.oid::regprocedure from pg_proc p where p.proname = 'pg_stat_statements' loop
    execute format('revoke execute on function %s from public', fn);
    execute format('grant execute on function %s to pg_read_all_stats', fn);
  end loop;
end
$reader$;

select set_config('porthole.reader_password', '', false);
