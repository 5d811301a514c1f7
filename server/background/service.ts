// Background runs: the rules around a run that outlives its request (issue #12 item 3).
// - start(): the same checks as any run (the engine plans it: access, scopes, statement, variables), then
//   a per-user cap on unfinished background runs (across tasks), then 202 at once. The run has its own
//   time limit (BACKGROUND_QUERY_TIMEOUT_MS), no client to lose, and ends by putting its result in the one
//   result store for RESULT_RETENTION_MINUTES.
// - Reading (status, result) is for the run's owner and admins; anyone else gets a 404, as for a run that
//   does not exist. Reading the result checks access again first (the saved query through the queries
//   service; free SQL needs the editor role and, for tokens, sql:run) and every read is audited by the store.
// - The existing cancel (RunService.cancel) stops it on whichever task runs it; the run then ends as
//   cancelled. A task that dies leaves its runs "running" until their deadline, then they read as failed.
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import { hasRole } from '../auth/guards.js';
import { requireScope, type Principal } from '../auth/principal.js';
import type { RunService, RunTarget } from '../engine/runs.service.js';
import { AppError } from '../lib/errors.js';
import type { QueriesService } from '../queries/service.js';
import type { ResultStore, StoredResult } from '../results/store.js';
import {
  deleteBackgroundRun,
  findBackgroundRun,
  insertUnderCap,
  listBackgroundRuns,
  markFinished,
  markRunning,
  type BackgroundRunRow,
  type RunStatus,
} from './repository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Past created_at + time limit + this, an unfinished run's task is taken to be gone. */
const DEADLINE_MARGIN_MS = 5 * 60_000;

export interface BackgroundOptions {
  timeoutMs: number;
  resultRetentionMinutes: number;
  perUserRuns: number;
}

export interface BackgroundRunView {
  id: string;
  status: RunStatus;
  dataSource: string;
  queryId: string | null;
  queryVersion: number | null;
  queryName: string | null;
  sqlPreview: string;
  ownerId: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  rowCount: number | null;
  truncated: boolean | null;
  durationMs: number | null;
  error: { code: string; message: string } | null;
  resultExpiresAt: Date | null;
  resultAvailable: boolean;
}

function view(row: BackgroundRunRow): BackgroundRunView {
  const now = Date.now();
  const abandoned = (row.status === 'queued' || row.status === 'running') && row.deadline_at.getTime() <= now;
  return {
    id: row.id,
    status: abandoned ? 'failed' : row.status,
    dataSource: row.data_source,
    queryId: row.query_id,
    queryVersion: row.query_version,
    queryName: row.query_name,
    sqlPreview: row.sql_preview,
    ownerId: row.user_id,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    rowCount: row.row_count,
    truncated: row.truncated,
    durationMs: row.duration_ms,
    error: abandoned
      ? { code: 'run_abandoned', message: 'The Porthole task running this query stopped before it finished.' }
      : row.error_code
        ? { code: row.error_code, message: row.error_message ?? '' }
        : null,
    resultExpiresAt: row.result_expires_at,
    resultAvailable: row.status === 'succeeded' && row.result_expires_at !== null && row.result_expires_at.getTime() > now,
  };
}

function notFound(id: string): AppError {
  return new AppError(404, 'not_found', `There is no background run ${id}, or it is not yours.`);
}

export class BackgroundRuns {
  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      runs: RunService;
      results: ResultStore;
      /** Resolved at call time: saved queries register after the engine. */
      queries: () => QueriesService;
      options: BackgroundOptions;
      log: FastifyBaseLogger;
    },
  ) {}

  /** Checks and queues the run; resolves (for the 202) as soon as it waits for its turn. */
  async start(
    user: Principal,
    target: RunTarget,
    params: Record<string, unknown>,
    requestedId: string | undefined,
    clientIp: string,
    request: { timeZone?: string } = {},
  ): Promise<{ id: string; status: RunStatus }> {
    if (requestedId !== undefined && !UUID.test(requestedId)) {
      throw new AppError(400, 'invalid_request', 'runId must be a UUID (the client generates it so it can cancel the run).');
    }
    const id = requestedId ?? randomUUID();
    const saved = target.kind === 'saved' ? target.query : undefined;
    const sql = saved ? saved.sql : (target as { sql: string }).sql;
    const { options } = this.deps;
    const inserted = await insertUnderCap(
      this.deps.db,
      {
        id,
        userId: user.id,
        tokenId: user.auth.method === 'token' ? user.auth.tokenId : null,
        dataSource: saved ? saved.dataSource : (target as { dataSource: string }).dataSource,
        queryId: saved?.id ?? null,
        queryVersion: saved?.version ?? null,
        queryName: saved?.name ?? null,
        sqlPreview: sql.slice(0, 500),
        taskId: this.deps.runs.taskId,
        deadlineMs: options.timeoutMs + DEADLINE_MARGIN_MS,
      },
      options.perUserRuns,
    ).catch((error: unknown) => {
      if ((error as { code?: string }).code === '23505')
        throw new AppError(409, 'conflict', `A run with id ${id} already exists.`);
      throw error;
    });
    if (!inserted) {
      throw new AppError(
        429,
        'too_many_background_runs',
        `You already have ${options.perUserRuns} background runs going; wait for one to finish or cancel it.`,
        { limit: options.perUserRuns, retryAfterSeconds: 10 },
      );
    }

    let planned!: () => void;
    const queued = new Promise<void>((resolve) => (planned = resolve));
    // No signal: the run belongs to no request and goes on when the client leaves.
    const execution = this.deps.runs.runJson(
      {
        user,
        clientIp,
        timeZone: request.timeZone,
        timeoutMs: options.timeoutMs,
        cache: { off: true },
        onPlanned: planned,
        onStarted: () => void markRunning(this.deps.db, id).catch((error: unknown) => this.logFailure(id, error)),
      },
      target,
      params,
      id,
    );
    try {
      await Promise.race([queued, execution]);
    } catch (error) {
      // Refused before it was queued (access, statement, variables): the caller gets the error itself.
      await deleteBackgroundRun(this.deps.db, id);
      throw error;
    }
    void this.complete(id, user, target, execution);
    return { id, status: 'queued' };
  }

  private async complete(
    id: string,
    user: Principal,
    target: RunTarget,
    execution: ReturnType<RunService['runJson']>,
  ): Promise<void> {
    const retentionSeconds = this.deps.options.resultRetentionMinutes * 60;
    try {
      const run = await execution.catch((error: unknown) => error as Error);
      if (run instanceof Error) {
        const code = run instanceof AppError ? run.code : 'internal_error';
        const message = run instanceof AppError ? run.message : 'Something went wrong on our side; it was logged.';
        if (!(run instanceof AppError)) this.logFailure(id, run);
        await markFinished(this.deps.db, id, {
          status: code === 'query_cancelled' ? 'cancelled' : 'failed',
          errorCode: code,
          errorMessage: message,
          retentionSeconds,
        });
        return;
      }
      const saved = target.kind === 'saved' ? target.query : undefined;
      const stored = await this.deps.results.put({
        runId: id,
        ownerId: user.id,
        query: saved ? { id: saved.id, version: saved.version } : null,
        dataSource: saved ? saved.dataSource : (target as { dataSource: string }).dataSource,
        cacheKey: null,
        tier: run.tier,
        columns: run.columns,
        rowsJson: run.rowsJson,
        rowCount: run.rowCount,
        truncated: run.truncated,
        ttlSeconds: retentionSeconds,
      });
      await markFinished(
        this.deps.db,
        id,
        stored.stored
          ? {
              status: 'succeeded',
              rowCount: run.rowCount,
              truncated: run.truncated,
              durationMs: run.durationMs,
              retentionSeconds,
            }
          : {
              status: 'failed',
              rowCount: run.rowCount,
              durationMs: run.durationMs,
              errorCode: 'result_too_large',
              errorMessage: `The result is too large to keep (${stored.byteSize} bytes compressed); add a LIMIT or download it as CSV.`,
              retentionSeconds,
            },
      );
    } catch (error) {
      this.logFailure(id, error);
      await markFinished(this.deps.db, id, {
        status: 'failed',
        errorCode: 'internal_error',
        errorMessage: 'Keeping the result failed; it was logged.',
        retentionSeconds,
      }).catch((again: unknown) => this.logFailure(id, again));
    }
  }

  private logFailure(id: string, error: unknown): void {
    this.deps.log.error({ err: error, runId: id }, 'background run bookkeeping failed');
  }

  private async visible(user: Principal, id: string): Promise<BackgroundRunRow> {
    if (!UUID.test(id)) throw notFound(id);
    const row = await findBackgroundRun(this.deps.db, id);
    if (!row || (row.user_id !== user.id && !hasRole(user, 'admin'))) throw notFound(id);
    return row;
  }

  async status(user: Principal, id: string): Promise<BackgroundRunView> {
    return view(await this.visible(user, id));
  }

  async list(user: Principal, limit = 20): Promise<BackgroundRunView[]> {
    return (await listBackgroundRuns(this.deps.db, user.id, limit)).map(view);
  }

  /** The stored result, after access is checked again; the store records the read in the audit log. */
  async result(
    user: Principal,
    id: string,
    format: 'json' | 'ndjson' | 'csv',
    clientIp: string,
  ): Promise<StoredResult & { run: BackgroundRunView }> {
    const row = await this.visible(user, id);
    const run = view(row);
    if (run.status !== 'succeeded') {
      throw new AppError(409, 'run_not_finished', `This run is ${run.status}; its result is not available.`, {
        status: run.status,
      });
    }
    let query: { id: string; version: number; dataSource: string } | null = null;
    if (row.query_id !== null) {
      requireScope(user, 'queries:run');
      const saved = await this.deps.queries().forRun(user, row.query_id, row.query_version ?? undefined);
      query = { id: saved.id, version: saved.version, dataSource: saved.dataSource };
    } else {
      requireScope(user, 'sql:run');
      if (!hasRole(user, 'editor')) throw new AppError(403, 'forbidden', 'Results of free SQL are for editors and admins.');
    }
    const stored = await this.deps.results.readRun({
      reader: { id: user.id, admin: hasRole(user, 'admin') },
      runId: id,
      query,
      audit: (meta) => ({
        action: 'run.result_read',
        actor: user,
        outcome: 'ok',
        dataSource: meta.dataSource,
        queryId: meta.queryId ?? undefined,
        queryVersion: meta.queryVersion ?? undefined,
        rowCount: meta.rowCount,
        clientIp,
        details: { runId: id, format, background: true, ownerId: meta.ownerId },
      }),
    });
    if (!stored) throw new AppError(410, 'result_expired', 'This result is no longer kept; run the query again.');
    return { ...stored, run };
  }
}
