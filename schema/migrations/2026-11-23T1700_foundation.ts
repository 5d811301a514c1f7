// users, sessions and the hash-chained, append-only audit log (DESIGN.md "Audit log").
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table users (
      id bigint generated always as identity primary key,
      issuer text not null,
      subject text not null,
      email text,
      name text,
      groups text[] not null default '{}',
      role text not null check (role in ('viewer', 'editor', 'admin')),
      created_at timestamptz not null default now(),
      last_login_at timestamptz,
      unique (issuer, subject)
    )`.execute(db);

  await sql`
    create table sessions (
      sid text primary key,
      user_id bigint references users (id) on delete cascade,
      data jsonb not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      absolute_expires_at timestamptz not null
    )`.execute(db);
  await sql`create index sessions_expires_at on sessions (least(expires_at, absolute_expires_at))`.execute(db);
  await sql`create index sessions_user_id on sessions (user_id)`.execute(db);

  await sql`
    create table audit_events (
      seq bigint primary key,
      occurred_at timestamptz not null,
      actor_user_id bigint,
      actor_email text,
      action text not null,
      data_source text,
      query_id bigint,
      query_version integer,
      outcome text,
      row_count bigint,
      duration_ms integer,
      sql text,
      params jsonb,
      error_code text,
      client_ip text,
      details jsonb not null default '{}',
      prev_hash bytea not null,
      hash bytea not null
    )`.execute(db);

  // One row holding the chain's head; locking it serialises inserts so seq and prev_hash never fork.
  await sql`
    create table audit_chain_head (
      id integer primary key check (id = 1),
      seq bigint not null,
      hash bytea not null
    )`.execute(db);
  await sql`insert into audit_chain_head (id, seq, hash) values (1, 0, decode(repeat('00', 32), 'hex'))`.execute(db);

  // The canonical text of an event: a JSON array of every content column in a fixed order, formatted by
  // jsonb so that server/audit/chain.ts can rebuild it byte for byte from the stored columns.
  await sql`
    create function audit_canonical(e audit_events) returns text
    language sql immutable set search_path = pg_catalog, public as $$
      select jsonb_build_array(
        e.seq, to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        e.actor_user_id, e.actor_email, e.action, e.data_source, e.query_id, e.query_version,
        e.outcome, e.row_count, e.duration_ms, e.sql, e.params, e.error_code, e.client_ip, e.details
      )::text
    $$`.execute(db);

  // SECURITY DEFINER: the serving role may INSERT events but has no rights on the head row; the trigger
  // runs as the owner, assigns seq/prev_hash/hash itself and ignores whatever the inserter supplied.
  await sql`
    create function audit_events_chain() returns trigger
    language plpgsql security definer set search_path = pg_catalog, public as $$
    declare
      head record;
    begin
      select seq, hash into strict head from public.audit_chain_head where id = 1 for update;
      new.seq := head.seq + 1;
      new.prev_hash := head.hash;
      new.occurred_at := clock_timestamp();
      new.details := coalesce(new.details, '{}'::jsonb);
      new.hash := sha256(new.prev_hash || convert_to(public.audit_canonical(new), 'UTF8'));
      update public.audit_chain_head set seq = new.seq, hash = new.hash where id = 1;
      return new;
    end $$`.execute(db);
  await sql`create trigger audit_events_chain before insert on audit_events for each row execute function audit_events_chain()`.execute(
    db,
  );

  await sql`
    create function audit_events_reject_change() returns trigger
    language plpgsql as $$
    begin
      raise exception 'audit_events is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  await sql`create trigger audit_events_no_update_delete before update or delete on audit_events for each row execute function audit_events_reject_change()`.execute(
    db,
  );
  await sql`create trigger audit_events_no_truncate before truncate on audit_events for each statement execute function audit_events_reject_change()`.execute(
    db,
  );
  await sql`create trigger audit_chain_head_no_truncate before truncate on audit_chain_head for each statement execute function audit_events_reject_change()`.execute(
    db,
  );
  await sql`revoke all on function audit_events_chain() from public`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function audit_canonical(audit_events)`.execute(db);
  await sql`drop table audit_events`.execute(db);
  await sql`drop table audit_chain_head`.execute(db);
  await sql`drop function audit_events_chain()`.execute(db);
  await sql`drop function audit_events_reject_change()`.execute(db);
  await sql`drop table sessions`.execute(db);
  await sql`drop table users`.execute(db);
}
