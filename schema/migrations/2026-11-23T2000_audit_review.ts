// Audit review (issue #7): indexes for the admin filters, trigram search over SQL, and two kinds of
// chain checkpoint: verifications (incremental verify resumes from the last one) and retention (where
// the chain starts after old events were exported and removed).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Trusted since PostgreSQL 13: the database owner may create it without superuser.
  await sql`create extension if not exists pg_trgm`.execute(db);

  // occurred_at strictly increases with seq (the trigger holds the head lock, so it can compare with the
  // previous event), which lets a time range be turned into a seq range exactly.
  await sql`alter table audit_chain_head add column occurred_at timestamptz`.execute(db);
  await sql`update audit_chain_head set occurred_at = (select max(occurred_at) from audit_events)`.execute(db);
  await chainTrigger(db, sql`greatest(clock_timestamp(), head.occurred_at + interval '1 microsecond')`);

  // Each filter is an equality on one column plus "newest first": (column, seq) serves both.
  await sql`create index audit_events_actor on audit_events (actor_user_id, seq)`.execute(db);
  await sql`create index audit_events_action on audit_events (action, seq)`.execute(db);
  await sql`create index audit_events_data_source on audit_events (data_source, seq)`.execute(db);
  await sql`create index audit_events_query on audit_events (query_id, query_version, seq)`.execute(db);
  await sql`create index audit_events_outcome on audit_events (outcome, seq)`.execute(db);
  await sql`create index audit_events_occurred_at on audit_events (occurred_at)`.execute(db);
  await sql`create index audit_events_sql_trgm on audit_events using gin (sql gin_trgm_ops)`.execute(db);

  await sql`
    create table audit_verifications (
      id bigint generated always as identity primary key,
      seq bigint not null,
      hash bytea not null,
      events_checked bigint not null,
      full_check boolean not null,
      verified_at timestamptz not null default now()
    )`.execute(db);

  await sql`
    create table audit_retention_checkpoints (
      id bigint generated always as identity primary key,
      seq bigint not null,
      hash bytea not null,
      events_removed bigint not null,
      export_file text not null,
      cutoff timestamptz not null,
      created_at timestamptz not null default now()
    )`.execute(db);

  for (const table of ['audit_verifications', 'audit_retention_checkpoints']) {
    await sql`create trigger ${sql.id(`${table}_no_update_delete`)} before update or delete on ${sql.id(table)}
      for each row execute function audit_events_reject_change()`.execute(db);
    await sql`create trigger ${sql.id(`${table}_no_truncate`)} before truncate on ${sql.id(table)}
      for each statement execute function audit_events_reject_change()`.execute(db);
  }
}

/** (Re)defines the chain trigger's function with the given expression for the new event's time. */
async function chainTrigger(db: Kysely<unknown>, occurredAt: ReturnType<typeof sql>): Promise<void> {
  await sql`
    create or replace function audit_events_chain() returns trigger
    language plpgsql security definer set search_path = pg_catalog, public as $$
    declare
      head record;
    begin
      select seq, hash, occurred_at into strict head from public.audit_chain_head where id = 1 for update;
      new.seq := head.seq + 1;
      new.prev_hash := head.hash;
      new.occurred_at := coalesce(${occurredAt}, clock_timestamp());
      new.details := coalesce(new.details, '{}'::jsonb);
      new.hash := sha256(new.prev_hash || convert_to(public.audit_canonical(new), 'UTF8'));
      update public.audit_chain_head set seq = new.seq, hash = new.hash, occurred_at = new.occurred_at where id = 1;
      return new;
    end $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await chainTrigger(db, sql`clock_timestamp()`);
  await sql`alter table audit_chain_head drop column occurred_at`.execute(db);
  await sql`drop table audit_retention_checkpoints`.execute(db);
  await sql`drop table audit_verifications`.execute(db);
  for (const index of ['actor', 'action', 'data_source', 'query', 'outcome', 'occurred_at', 'sql_trgm']) {
    await sql`drop index ${sql.id(`audit_events_${index}`)}`.execute(db);
  }
}
