// Finding a run's events by its id (details.runId): the check for run.started events without a closing
// event (issue #18) and the stale-run purge look each run's closing event up by it.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index audit_events_run_id on audit_events ((details->>'runId')) where details ? 'runId'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists audit_events_run_id`.execute(db);
}
