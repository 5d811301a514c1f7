// active_runs in the tools DB: the runs executing now on every Porthole task, with their backend's cancel
// key. Kysely only; the rules live in runs.service.ts.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { ActiveRunsTable, Database } from '../../schema/database.js';
import type { BackendKey } from './cancel-request.js';
import type { Canceller } from './live-run.js';

export interface NewActiveRun {
  id: string;
  userId: string;
  userEmail: string | null;
  dataSource: string;
  queryId?: string;
  queryVersion?: number;
  sql: string;
  format: 'json' | 'csv';
  taskId: string;
  /** The backend the run holds; a cancel from any task uses its key while the row exists. */
  backend: BackendKey;
  /** How long the row stays valid if its task dies without removing it. */
  ttlMs: number;
}

export interface ActiveRun {
  id: string;
  userId: string;
  userEmail: string | null;
  dataSource: string;
  queryId: string | null;
  queryVersion: number | null;
  sql: string;
  format: 'json' | 'csv';
  taskId: string;
  backend: BackendKey | null;
  startedAt: Date;
  cancelRequestedAt: Date | null;
  cancelledBy: string | null;
}

/**
 * Inserts the run unless the user already has `perUserCap` live runs. The per-user advisory lock makes
 * the count and the insert atomic across tasks. Returns false when over the cap.
 */
export async function registerActiveRun(db: Kysely<Database>, run: NewActiveRun, perUserCap: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${'porthole.active_runs:' + run.userId}, 0))`.execute(trx);
    // A statement of its own after the lock: its snapshot sees every run committed before the lock was ours.
    const inserted = await sql<{ id: string }>`
      insert into active_runs (id, user_id, user_email, data_source, query_id, query_version, sql, format, task_id,
                               backend_host, backend_port, backend_pid, backend_key, expires_at)
      select ${run.id}, ${run.userId}, ${run.userEmail}, ${run.dataSource}, ${run.queryId ?? null}, ${run.queryVersion ?? null},
             ${run.sql}, ${run.format}, ${run.taskId}, ${run.backend.host}, ${run.backend.port}, ${run.backend.pid},
             ${run.backend.secretKey}, now() + make_interval(secs => ${run.ttlMs / 1000})
      where (select count(*) from active_runs where user_id = ${run.userId} and expires_at > now()) < ${perUserCap}
      returning id`.execute(trx);
    return inserted.rows.length === 1;
  });
}

export interface RemovedActiveRun {
  cancelRequested: boolean;
  /** Who asked for the cancel (from any task), as the users table knows them now. */
  cancelledBy: Canceller | null;
}

/**
 * Removes the run and says whether a cancel was requested for it (from any task), and by whom. The runner
 * removes the row before its connection goes back to the pool, and a canceller marks the row before
 * sending, so a cancel request can never reach a connection that already serves someone else.
 */
export async function removeActiveRun(db: Kysely<Database>, id: string): Promise<RemovedActiveRun | undefined> {
  const row = await db
    .with('removed', (db) => db.deleteFrom('active_runs').where('id', '=', id).returning(['cancel_requested_at', 'cancelled_by']))
    .selectFrom('removed')
    .leftJoin('users', 'users.id', 'removed.cancelled_by')
    .select(['removed.cancel_requested_at', 'removed.cancelled_by', 'users.email', 'users.name'])
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    cancelRequested: row.cancel_requested_at !== null,
    cancelledBy: row.cancelled_by === null ? null : { id: row.cancelled_by, email: row.email, name: row.name },
  };
}

/** The backend of a run while its row exists (for repeating a cancel request). */
export async function activeBackend(db: Kysely<Database>, id: string): Promise<BackendKey | undefined> {
  const row = await db
    .selectFrom('active_runs')
    .select(['backend_host', 'backend_port', 'backend_pid', 'backend_key'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row || row.backend_host === null || row.backend_port === null || row.backend_pid === null || row.backend_key === null)
    return undefined;
  return { host: row.backend_host, port: row.backend_port, pid: row.backend_pid, secretKey: row.backend_key };
}

/** Marks a live run as cancel-requested and returns it (undefined when it is not running). */
export async function requestCancel(db: Kysely<Database>, id: string, byUserId: string): Promise<ActiveRun | undefined> {
  const row = await db
    .updateTable('active_runs')
    .set({ cancel_requested_at: sql<Date>`coalesce(cancel_requested_at, now())`, cancelled_by: byUserId })
    .where('id', '=', id)
    .where('expires_at', '>', sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst();
  return row ? toActiveRun(row) : undefined;
}

export async function findActiveRun(db: Kysely<Database>, id: string): Promise<ActiveRun | undefined> {
  const row = await db
    .selectFrom('active_runs')
    .selectAll()
    .where('id', '=', id)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return row ? toActiveRun(row) : undefined;
}

export async function listActiveRuns(db: Kysely<Database>): Promise<ActiveRun[]> {
  const rows = await db
    .selectFrom('active_runs')
    .selectAll()
    .where('expires_at', '>', sql<Date>`now()`)
    .orderBy('started_at')
    .limit(1000)
    .execute();
  return rows.map(toActiveRun);
}

/** Deletes rows left behind by tasks that died mid-run; returns their run ids. */
export async function purgeExpiredRuns(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .deleteFrom('active_runs')
    .where('expires_at', '<=', sql<Date>`now()`)
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

/**
 * Runs `work` while holding the stale-run purge's lock (one purge at a time across tasks, so no run is
 * closed twice); resolves undefined without running it when another task holds the lock.
 */
export async function withPurgeLock<T>(db: Kysely<Database>, work: () => Promise<T>): Promise<T | undefined> {
  return db.connection().execute(async (connection) => {
    const key = sql`hashtextextended('porthole.stale-run-purge', 0)`;
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${key}) as locked`.execute(connection);
    if (!rows[0]?.locked) return undefined;
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock(${key})`.execute(connection);
    }
  });
}

type Row = Omit<Selectable<ActiveRunsTable>, 'expires_at'>;

function toActiveRun(row: Row): ActiveRun {
  const backend =
    row.backend_host !== null && row.backend_port !== null && row.backend_pid !== null && row.backend_key !== null
      ? { host: row.backend_host, port: row.backend_port, pid: row.backend_pid, secretKey: row.backend_key }
      : null;
  return {
    id: row.id,
    userId: row.user_id,
    userEmail: row.user_email,
    dataSource: row.data_source,
    queryId: row.query_id,
    queryVersion: row.query_version,
    sql: row.sql,
    format: row.format,
    taskId: row.task_id,
    backend,
    startedAt: row.started_at,
    cancelRequestedAt: row.cancel_requested_at,
    cancelledBy: row.cancelled_by,
  };
}
