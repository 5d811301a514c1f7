// background_runs: runs started with "background": true (issue #12 item 3). The row is the run's state
// for any task to report (queued, running, succeeded, failed, cancelled); the result itself is in the
// result store (`results`, keyed by the same run id). A run whose task died stays "running" in the table
// until its deadline passes; readers then report it as failed (run_abandoned).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table background_runs (
      id uuid primary key,
      user_id bigint not null references users (id) on delete cascade,
      -- The token it was started through, if any (its id stays after the token is deleted).
      token_id bigint,
      data_source text not null,
      query_id bigint references queries (id) on delete cascade,
      query_version integer,
      query_name text,
      sql_preview text not null,
      status text not null check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
      task_id text not null,
      created_at timestamptz not null default now(),
      started_at timestamptz,
      finished_at timestamptz,
      -- created_at + the background time limit + a margin: past it an unfinished run was abandoned.
      deadline_at timestamptz not null,
      row_count integer,
      truncated boolean,
      duration_ms integer,
      error_code text,
      error_message text,
      -- When the stored result goes (finished_at + RESULT_RETENTION_MINUTES).
      result_expires_at timestamptz
    )`.execute(db);
  await sql`create index background_runs_user on background_runs (user_id, created_at desc)`.execute(db);
  await sql`create index background_runs_result_expires_at on background_runs (result_expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table background_runs`.execute(db);
}
