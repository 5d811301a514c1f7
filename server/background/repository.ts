// Kysely access to background_runs.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { BackgroundRunsTable, Database } from '../../schema/database.js';

export type BackgroundRunRow = Selectable<BackgroundRunsTable>;
export type RunStatus = BackgroundRunRow['status'];

export interface NewBackgroundRun {
  id: string;
  userId: string;
  tokenId: string | null;
  dataSource: string;
  queryId: string | null;
  queryVersion: number | null;
  queryName: string | null;
  sqlPreview: string;
  taskId: string;
  deadlineMs: number;
}

/** Inserts the run as queued unless the user already has `cap` unfinished ones (across tasks). */
export async function insertUnderCap(db: Kysely<Database>, run: NewBackgroundRun, cap: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${'porthole.background_runs:' + run.userId}, 0))`.execute(trx);
    // A statement of its own after the lock: its snapshot sees every run committed before the lock was ours.
    const inserted = await sql<{ id: string }>`
      insert into background_runs (id, user_id, token_id, data_source, query_id, query_version, query_name, sql_preview,
                                   status, task_id, deadline_at)
      select ${run.id}, ${run.userId}, ${run.tokenId}, ${run.dataSource}, ${run.queryId}, ${run.queryVersion},
             ${run.queryName}, ${run.sqlPreview}, 'queued', ${run.taskId}, now() + make_interval(secs => ${run.deadlineMs / 1000})
      where (select count(*) from background_runs
             where user_id = ${run.userId} and status in ('queued', 'running') and deadline_at > now()) < ${cap}
      returning id`.execute(trx);
    return inserted.rows.length === 1;
  });
}

export async function markRunning(db: Kysely<Database>, id: string): Promise<void> {
  await db
    .updateTable('background_runs')
    .set({ status: 'running', started_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .execute();
}

export async function markFinished(
  db: Kysely<Database>,
  id: string,
  end: {
    status: 'succeeded' | 'failed' | 'cancelled';
    rowCount?: number;
    truncated?: boolean;
    durationMs?: number;
    errorCode?: string;
    errorMessage?: string;
    retentionSeconds: number;
  },
): Promise<void> {
  await db
    .updateTable('background_runs')
    .set({
      status: end.status,
      finished_at: sql`now()`,
      row_count: end.rowCount ?? null,
      truncated: end.truncated ?? null,
      duration_ms: end.durationMs === undefined ? null : Math.round(end.durationMs),
      error_code: end.errorCode ?? null,
      error_message: end.errorMessage ?? null,
      result_expires_at: sql`now() + make_interval(secs => ${end.retentionSeconds})`,
    })
    .where('id', '=', id)
    .execute();
}

export async function deleteBackgroundRun(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('background_runs').where('id', '=', id).execute();
}

export async function findBackgroundRun(db: Kysely<Database>, id: string): Promise<BackgroundRunRow | undefined> {
  return db.selectFrom('background_runs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listBackgroundRuns(db: Kysely<Database>, userId: string, limit: number): Promise<BackgroundRunRow[]> {
  return db
    .selectFrom('background_runs')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

/** Forgets runs a day after their result expired, or a day after an abandoned run's deadline. */
export async function deleteOldBackgroundRuns(db: Kysely<Database>): Promise<number> {
  const result = await db
    .deleteFrom('background_runs')
    .where((eb) =>
      eb.or([
        eb('result_expires_at', '<', sql<Date>`now() - interval '1 day'`),
        eb.and([eb('finished_at', 'is', null), eb('deadline_at', '<', sql<Date>`now() - interval '1 day'`)]),
      ]),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
