// active_runs: every query executing right now, on any Porthole task, with its backend's cancel key, so
// a cancel that reaches another task still stops it (DESIGN.md "Scale") and the per-user cap holds
// across tasks. Rows are deleted when a run ends; a task that dies leaves rows that expire on their own.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table active_runs (
      id uuid primary key,
      user_id bigint not null references users (id) on delete cascade,
      user_email text,
      data_source text not null,
      query_id bigint,
      query_version integer,
      sql text not null,
      format text not null check (format in ('json', 'csv')),
      task_id text not null,
      backend_host text,
      backend_port integer,
      backend_pid integer,
      backend_key integer,
      started_at timestamptz not null default now(),
      -- The run's own deadline plus a margin: past it the row is stale (its task died) and ignored.
      expires_at timestamptz not null,
      cancel_requested_at timestamptz,
      cancelled_by bigint
    )`.execute(db);
  await sql`create index active_runs_user_id on active_runs (user_id, expires_at)`.execute(db);
  await sql`create index active_runs_expires_at on active_runs (expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table active_runs`.execute(db);
}
