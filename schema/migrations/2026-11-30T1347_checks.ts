// Checks and alerts (issue #11): a check runs a saved query on a schedule and notifies on a change of
// state. `checks.next_run_at` is what the once-a-minute dispatcher claims; `check_runs` is each run's
// outcome, unique per (check, slot) so a scheduled slot can be recorded once whatever happens upstream;
// `notification_deliveries` is the log of every delivery attempt. Destinations (Slack and webhook URLs
// with their signing secrets) are admin-managed and never returned in full by the API.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table alert_destinations (
      id bigint generated always as identity primary key,
      kind text not null check (kind in ('slack', 'webhook')),
      name text not null unique,
      url text not null,
      -- Webhooks only: the HMAC-SHA256 key the receiver verifies Porthole-Signature with.
      secret text,
      created_by bigint references users (id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);

  await sql`
    create table checks (
      id bigint generated always as identity primary key,
      name text not null,
      query_id bigint not null references queries (id) on delete cascade,
      -- Null: the query's current version at each run.
      query_version integer,
      params jsonb not null default '{}',
      schedule_every text check (schedule_every in ('5m', '15m', '1h', '1d')),
      schedule_cron text,
      time_zone text not null default 'UTC',
      condition jsonb not null,
      emails text[] not null default '{}',
      destination_ids bigint[] not null default '{}',
      enabled boolean not null default true,
      owner_id bigint not null references users (id),
      state text not null default 'pending' check (state in ('pending', 'ok', 'failing', 'error', 'timed_out', 'disabled')),
      state_reason text,
      state_changed_at timestamptz,
      remind_every_hours integer check (remind_every_hours between 1 and 720),
      muted_until timestamptz,
      timeout_ms integer not null default 60000 check (timeout_ms between 1000 and 3600000),
      last_run_at timestamptz,
      last_notified_at timestamptz,
      next_run_at timestamptz,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check ((schedule_every is null) <> (schedule_cron is null))
    )`.execute(db);
  await sql`create index checks_due on checks (next_run_at) where enabled`.execute(db);
  await sql`create index checks_query on checks (query_id)`.execute(db);

  await sql`
    create table check_runs (
      id bigint generated always as identity primary key,
      check_id bigint not null references checks (id) on delete cascade,
      -- The scheduled occurrence; null for Run now.
      slot timestamptz,
      trigger text not null check (trigger in ('schedule', 'manual')),
      triggered_by bigint references users (id),
      started_at timestamptz not null default now(),
      finished_at timestamptz,
      state text check (state in ('ok', 'failing', 'error', 'timed_out')),
      previous_state text,
      reason text,
      row_count integer,
      engine_run_id uuid,
      notified boolean not null default false,
      unique (check_id, slot)
    )`.execute(db);
  await sql`create index check_runs_history on check_runs (check_id, id desc)`.execute(db);

  await sql`
    create table notification_deliveries (
      id bigint generated always as identity primary key,
      check_run_id bigint not null references check_runs (id) on delete cascade,
      channel text not null check (channel in ('email', 'slack', 'webhook')),
      -- An email address, or the destination's name (never its URL or secret).
      target text not null,
      destination_id bigint references alert_destinations (id) on delete set null,
      attempt integer not null,
      status text not null check (status in ('sent', 'failed', 'refused')),
      detail text,
      response_status integer,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index notification_deliveries_run on notification_deliveries (check_run_id, id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table notification_deliveries`.execute(db);
  await sql`drop table check_runs`.execute(db);
  await sql`drop table checks`.execute(db);
  await sql`drop table alert_destinations`.execute(db);
}
