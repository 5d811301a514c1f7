-- Porthole's read-only reader role for a main database (DESIGN.md "The engine's layers", layer 1).
-- The role's grants are the boundary: Porthole's parser and read-only transactions are further walls.
--
-- Run it connected to the MAIN database as a superuser (on RDS / Aurora: the master user), once per
-- database Porthole reads, and again after adding schemas. It is safe to re-run (it updates the role).
-- As a master user that is not a superuser, the parts that need one are reported as NOTICEs instead
-- (see README.md, "Data sources and the reader role").
--
--   psql "postgres://admin@main-db.internal:5432/app" \
--     -v reader_role=porthole_reader \
--     -v reader_password="$(openssl rand -base64 32)" \
--     -v reader_schemas=public \
--     -f schema/reader-role.sql
--
-- Access tiers (issue #13): run the script once per tier, each with its own role. Give the lower tier
-- (e.g. standard) the columns it must not read; the higher one (e.g. pii) gets everything:
--   psql ... -v reader_role=porthole_reader_pii -v reader_password=... -v reader_schemas=public -f schema/reader-role.sql
--   psql ... -v reader_role=porthole_reader -v reader_password=... -v reader_schemas=public \
--     -v withheld_columns=public.users.email_address,public.notifications.to -f schema/reader-role.sql
-- Column grants cannot be expressed by ALTER DEFAULT PRIVILEGES (it grants whole tables), so a tier with
-- withheld columns gets no default privileges: re-run its command after adding tables (and after adding
-- sensitive columns to the list). Views and materialized views that read a withheld column, directly or
-- through other views, are not granted to it (a view runs with its owner's rights).
--
-- What it changes beyond the role itself (all per database, visible in \dp and \df+):
--   * TEMPORARY on the database is revoked from PUBLIC and granted back to the login roles that use the
--     database (its owner, owners of its schemas or tables, roles granted CONNECT explicitly, but not
--     other readers set up by this script), so the reader loses temp tables; another role that needs
--     them is given TEMPORARY explicitly.
--   * EXECUTE on large-object writers (lo_*), on backend signals (pg_cancel_backend,
--     pg_terminate_backend) and on the activity functions that reveal other sessions' SQL
--     (pg_stat_get_activity, pg_stat_get_backend_activity) is revoked from PUBLIC and granted back to
--     pg_signal_backend / pg_read_all_stats, so monitoring roles keep working. All Porthole users share
--     this role, so without this one user could read or cancel another's query. pg_stat_statements
--     (when the extension is installed) is closed the same way.
--   * Advisory locks stay callable: Porthole runs DISCARD ALL after every run, which releases them.
--
-- IAM database authentication (RDS / Aurora, optional; README "IAM database authentication"): the role
-- gets no password at all, and Porthole signs a 15-minute token for each connection with its task role.
-- Turn IAM authentication on for the instance or cluster, then run the script with reader_auth=rds-iam
-- instead of a password:
--   psql "postgres://admin@main-db.xxxx.eu-west-2.rds.amazonaws.com:5432/app?sslmode=verify-full" \
--     -v reader_role=porthole_reader -v reader_auth=rds-iam -v reader_schemas=public -f schema/reader-role.sql
-- which does, besides everything above:
--   ALTER ROLE porthole_reader PASSWORD NULL;
--   GRANT rds_iam TO porthole_reader;     -- RDS then accepts only IAM tokens for this user
-- The task role needs rds-db:connect on arn:aws:rds-db:<region>:<account>:dbuser:<DbiResourceId>/porthole_reader
-- (the CDK stack's mainDatabaseIamUser setting grants exactly that). Running the script again with a
-- reader_password switches the role back to a password and revokes rds_iam.
\set ON_ERROR_STOP on

-- Access tiers (optional; see the "Access tiers" block at the end). Unset = a reader of everything.
\if :{?withheld_columns}
\else
\set withheld_columns ''
\endif
-- password (the default, with reader_password) or rds-iam (no password; see above).
\if :{?reader_auth}
\else
\set reader_auth 'password'
\endif
\if :{?reader_password}
\else
\set reader_password ''
\endif

select set_config('porthole.reader_role', :'reader_role', false),
       set_config('porthole.reader_password', :'reader_password', false),
       set_config('porthole.reader_auth', :'reader_auth', false),
       set_config('porthole.reader_schemas', :'reader_schemas', false);

-- One transaction (issue #13): a re-run grants whole tables first and the tier block below narrows them,
-- so without it a standard tier could read withheld columns for a moment.
begin;

do $reader$
declare
  reader text := current_setting('porthole.reader_role');
  schema_name text;
  owner_name text;
  other_role text;
  fn regprocedure;
  grantee text;
  auth text := current_setting('porthole.reader_auth');
  password_clause text;
begin
  if reader !~ '^[a-z_][a-z0-9_]{0,62}$' then
    raise exception 'reader_role must be a lower-case SQL identifier, got %', reader;
  end if;
  if auth = 'rds-iam' then
    if not exists (select from pg_roles where rolname = 'rds_iam') then
      raise exception 'reader_auth=rds-iam needs the rds_iam role, which only RDS and Aurora PostgreSQL have';
    end if;
    password_clause := 'password null';
  elsif auth = 'password' then
    if current_setting('porthole.reader_password') = '' then
      raise exception 'give reader_password (or reader_auth=rds-iam for IAM database authentication)';
    end if;
    password_clause := format('password %L', current_setting('porthole.reader_password'));
  else
    raise exception 'reader_auth must be password or rds-iam, got %', auth;
  end if;
  if not exists (select from pg_roles where rolname = reader) then
    execute format('create role %I login', reader);
  end if;
  if (select rolsuper from pg_roles where rolname = current_user) then
    execute format('alter role %I login %s nosuperuser nocreatedb nocreaterole noinherit noreplication nobypassrls connection limit 20',
                   reader, password_clause);
  else
    -- A managed database's master user (RDS: rds_superuser, CREATEROLE, not a superuser) may not even name
    -- SUPERUSER, REPLICATION or BYPASSRLS; a role it created has none of them, which is checked instead.
    execute format('alter role %I login %s nocreatedb nocreaterole noinherit connection limit 20',
                   reader, password_clause);
    if exists (select from pg_roles where rolname = reader and (rolsuper or rolreplication or rolbypassrls)) then
      raise exception 'role % has SUPERUSER, REPLICATION or BYPASSRLS, which only a superuser can remove', reader;
    end if;
  end if;
  -- On RDS a member of rds_iam may log in only with an IAM token; a password reader must not be one.
  if auth = 'rds-iam' then
    execute format('grant rds_iam to %I', reader);
  elsif exists (select from pg_roles where rolname = 'rds_iam')
        and pg_has_role(reader, 'rds_iam', 'MEMBER') then
    execute format('revoke rds_iam from %I', reader);
  end if;

  -- Session defaults: still read-only and bounded if someone connects as the reader without Porthole.
  execute format('alter role %I set default_transaction_read_only = on', reader);
  execute format('alter role %I set statement_timeout = %L', reader, '5min');
  execute format('alter role %I set lock_timeout = %L', reader, '5s');
  execute format('alter role %I set idle_in_transaction_session_timeout = %L', reader, '1min');
  begin
    execute format('alter role %I set temp_file_limit = %L', reader, '1GB');
  exception when insufficient_privilege then
    raise notice 'temp_file_limit needs a superuser: set it in the server configuration instead (RDS: the parameter group)';
  end;

  -- Database: connect, no temporary tables (this part needs the database's owner).
  execute format('revoke all on database %I from %I', current_database(), reader);
  execute format('grant connect on database %I to %I', current_database(), reader);
  begin
    -- Granted back to the roles that use this database (its owner, owners of schemas or relations in
    -- it, roles granted CONNECT explicitly), not to every login role on the server: each grant is a
    -- dependency that would stop that role from being dropped.
    -- Other readers set up by this script (read-only by default: another tier's role) get nothing back.
    for other_role in
      select r.rolname from pg_roles r
      where r.rolcanlogin and r.rolname <> reader and r.rolname !~ '^pg_'
        and not exists (select from pg_db_role_setting s
                        where s.setrole = r.oid and 'default_transaction_read_only=on' = any(s.setconfig))
        and (r.oid = (select datdba from pg_database where datname = current_database())
             or exists (select from pg_namespace n where n.nspowner = r.oid and n.nspname !~ '^pg_' and n.nspname <> 'information_schema')
             or exists (select from pg_class c where c.relowner = r.oid and c.relnamespace <> 'pg_catalog'::regnamespace)
             or exists (select from pg_database d, aclexplode(d.datacl) a
                        where d.datname = current_database() and a.grantee = r.oid and a.privilege_type = 'CONNECT'))
    loop
      execute format('grant temporary on database %I to %I', current_database(), other_role);
    end loop;
    execute format('revoke temporary on database %I from public', current_database());
  exception when insufficient_privilege then
    raise notice 'TEMPORARY stays granted to PUBLIC: run this script as the owner of database % to revoke it', current_database();
  end;

  -- Tables and views: SELECT only, now and for tables their owners create later. GRANT and REVOKE on
  -- objects we do not own only warn; ALTER DEFAULT PRIVILEGES needs membership in the owning role.
  foreach schema_name in array string_to_array(replace(current_setting('porthole.reader_schemas'), ' ', ''), ',') loop
    execute format('revoke create on schema %I from public', schema_name);
    execute format('grant usage on schema %I to %I', schema_name, reader);
    execute format('grant select on all tables in schema %I to %I', schema_name, reader);
    for owner_name in select distinct pg_get_userbyid(c.relowner) from pg_class c
                      join pg_namespace n on n.oid = c.relnamespace where n.nspname = schema_name loop
      begin
        execute format('alter default privileges for role %I in schema %I grant select on tables to %I', owner_name, schema_name, reader);
      exception when insufficient_privilege then
        raise notice 'tables % creates later in % will not be readable automatically: run this script again after adding tables, or as %',
                     owner_name, schema_name, owner_name;
      end;
    end loop;
  end loop;

  -- Functions every role may call by default that a shared read-only role must not: large-object writers
  -- (closed), backend signals and activity (granted back to the predefined roles that monitoring uses),
  -- and pg_stat_statements where installed (re-run this script after installing the extension). Changing
  -- EXECUTE on them needs their owner, the bootstrap superuser; a managed database's master user cannot,
  -- which is reported below (Porthole's guard refuses these functions by name, its self-check warns).
  for fn, grantee in
    select p.oid::regprocedure,
           case when p.proname in ('pg_cancel_backend', 'pg_terminate_backend') then 'pg_signal_backend'
                when p.proname like 'lo%' then null
                else 'pg_read_all_stats' end
    from pg_proc p
    where (p.pronamespace = 'pg_catalog'::regnamespace
           and p.proname in ('lo_from_bytea', 'lo_create', 'lo_creat', 'lo_import', 'lo_export', 'lo_put', 'lo_open',
                             'lo_unlink', 'lo_truncate', 'lo_truncate64', 'lowrite', 'pg_cancel_backend',
                             'pg_terminate_backend', 'pg_stat_get_activity', 'pg_stat_get_backend_activity'))
       or p.proname = 'pg_stat_statements'
  loop
    begin
      execute format('revoke execute on function %s from public', fn);
      if grantee is not null then
        execute format('grant execute on function %s to %I', fn, grantee);
      end if;
    exception when insufficient_privilege then
      null; -- reported once below
    end;
  end loop;
  if has_function_privilege(reader, 'pg_catalog.pg_cancel_backend(integer)', 'EXECUTE')
     or has_function_privilege(reader, 'pg_catalog.lo_from_bytea(oid, bytea)', 'EXECUTE') then
    raise notice 'large-object, backend-signal and activity functions stay callable by % (changing that needs a superuser)', reader;
  end if;
end
$reader$;

-- == Functions that write outside the run's transaction (issue 21, THREATS.md 47) ==========================
-- pg_logical_emit_message writes a WAL record that survives ROLLBACK, even in a READ ONLY transaction and
-- with no privilege check (a gigabyte per call can fill the primary's WAL disk, and the messages reach
-- logical-decoding consumers); txid_current / pg_current_xact_id take a transaction id (xid consumption,
-- WAL at rollback). EXECUTE is revoked from PUBLIC in this database and granted back to the login roles
-- that use it (its owner, owners of its schemas or tables, roles granted CONNECT explicitly) except
-- Porthole's readers (roles with default_transaction_read_only = on). Porthole's guard refuses them by
-- name and through the catalog; its self-check warns while the reader can still call them.
do $porthole_wal$
declare
  reader text := current_setting('porthole.reader_role');
  fn regprocedure;
  other_role text;
begin
  for fn in
    select p.oid::regprocedure from pg_proc p
    where p.pronamespace = 'pg_catalog'::regnamespace
      and p.proname in ('pg_logical_emit_message', 'txid_current', 'pg_current_xact_id')
  loop
    begin
      for other_role in
        select r.rolname from pg_roles r
        where r.rolcanlogin and r.rolname <> reader and r.rolname !~ '^pg_'
          and not exists (select from pg_db_role_setting s
                          where s.setrole = r.oid and 'default_transaction_read_only=on' = any(s.setconfig))
          and (r.oid = (select datdba from pg_database where datname = current_database())
               or exists (select from pg_namespace n where n.nspowner = r.oid and n.nspname !~ '^pg_' and n.nspname <> 'information_schema')
               or exists (select from pg_class c where c.relowner = r.oid and c.relnamespace <> 'pg_catalog'::regnamespace)
               or exists (select from pg_database d, aclexplode(d.datacl) a
                          where d.datname = current_database() and a.grantee = r.oid and a.privilege_type = 'CONNECT'))
      loop
        execute format('grant execute on function %s to %I', fn, other_role);
      end loop;
      execute format('revoke execute on function %s from public', fn);
      execute format('revoke execute on function %s from %I', fn, reader);
    exception when insufficient_privilege then
      null; -- reported below
    end;
  end loop;
  if exists (select from pg_proc where pronamespace = 'pg_catalog'::regnamespace and proname = 'pg_logical_emit_message'
             and has_function_privilege(reader, oid, 'EXECUTE')) then
    raise notice 'pg_logical_emit_message and txid_current stay callable by % (changing that needs a superuser)', reader;
  end if;
end
$porthole_wal$;
-- == end of the block for functions that write outside the run's transaction ===============================

-- Access tiers (issue #13). With withheld_columns set, the role just configured reads every column but
-- those: table-level SELECT on their tables is replaced by column-level SELECT on the other columns,
-- views that read them (directly or through other views) are withheld whole, and the default privileges
-- given above are taken back (they would grant whole new tables; column grants cannot be defaulted), so
-- new tables reach this tier only by re-running this command. Every layer-1 restriction above still holds.
select set_config('porthole.withheld_columns', :'withheld_columns', false);

do $tier$
declare
  reader text := current_setting('porthole.reader_role');
  listed text;
  parts text[];
  target regclass;
  attribute int2;
  others text;
  view_name regclass;
  schema_name text;
  owner_name text;
  withheld_relids oid[] := '{}';
  withheld_attnums int2[] := '{}';
begin
  if replace(current_setting('porthole.withheld_columns'), ' ', '') = '' then
    return;
  end if;
  foreach listed in array string_to_array(replace(current_setting('porthole.withheld_columns'), ' ', ''), ',') loop
    parts := parse_ident(listed);
    if array_length(parts, 1) = 2 then
      parts := array['public'] || parts;
    elsif array_length(parts, 1) is distinct from 3 then
      raise exception 'withheld_columns: % is not schema.table.column or table.column', listed;
    end if;
    target := to_regclass(format('%I.%I', parts[1], parts[2]));
    if target is null then
      raise exception 'withheld_columns: table %.% does not exist', parts[1], parts[2];
    end if;
    select a.attnum into attribute from pg_attribute a
    where a.attrelid = target and a.attname = parts[3] and a.attnum > 0 and not a.attisdropped;
    if attribute is null then
      raise exception 'withheld_columns: table % has no column %', target, parts[3];
    end if;
    withheld_relids := withheld_relids || target::oid;
    withheld_attnums := withheld_attnums || attribute;
  end loop;

  -- Each table with a withheld column: SELECT on its other columns only.
  for target in select distinct relid::regclass from unnest(withheld_relids) as w(relid) loop
    select string_agg(quote_ident(a.attname), ', ' order by a.attnum) into others
    from pg_attribute a
    where a.attrelid = target and a.attnum > 0 and not a.attisdropped
      and a.attnum not in (select w.attnum from unnest(withheld_relids, withheld_attnums) as w(relid, attnum) where w.relid = target);
    execute format('revoke select on %s from %I', target, reader);
    -- A column grant left from an earlier run (the column listed since) goes too.
    execute (select format('revoke select (%s) on %s from %I', string_agg(quote_ident(a.attname), ', '), target, reader)
             from pg_attribute a where a.attrelid = target and a.attnum > 0 and not a.attisdropped);
    if others is not null then
      execute format('grant select (%s) on %s to %I', others, target, reader);
    end if;
  end loop;

  -- Views and materialized views reading a withheld column, directly or through another such view.
  for view_name in
    with recursive tainted(relid) as (
      select distinct r.ev_class
      from pg_depend d join pg_rewrite r on r.oid = d.objid
      join unnest(withheld_relids, withheld_attnums) as w(relid, attnum) on w.relid = d.refobjid and w.attnum = d.refobjsubid
      where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass and r.ev_class <> d.refobjid
      union
      select r.ev_class
      from pg_depend d join pg_rewrite r on r.oid = d.objid join tainted t on t.relid = d.refobjid
      where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass and r.ev_class <> d.refobjid
    )
    select t.relid::regclass from tainted t
  loop
    execute format('revoke all on %s from %I', view_name, reader);
    raise notice 'view % reads a withheld column: % may not read it', view_name, reader;
  end loop;

  -- No default privileges for this tier: a new table could hold sensitive columns.
  foreach schema_name in array string_to_array(replace(current_setting('porthole.reader_schemas'), ' ', ''), ',') loop
    for owner_name in select distinct pg_get_userbyid(c.relowner) from pg_class c
                      join pg_namespace n on n.oid = c.relnamespace where n.nspname = schema_name loop
      begin
        execute format('alter default privileges for role %I in schema %I revoke select on tables from %I', owner_name, schema_name, reader);
      exception when insufficient_privilege then
        raise notice 'default privileges of % in % could not be taken back from %: new tables will be readable in full by it',
                     owner_name, schema_name, reader;
      end;
    end loop;
  end loop;
end
$tier$;

commit;

select set_config('porthole.reader_password', '', false);
