// Runs: the rules and the lifecycle around one execution. Access first (viewers run saved queries only,
// sources by group), then the statement checks, the per-user cap (across tasks, in active_runs), the
// global cap (RunGate), `run.started` in the audit log before anything executes, the run itself with its
// deadline, and `run.finished` / `run.failed` / `run.cancelled` afterwards: exactly one closing event per
// run.started. A run whose task died is closed as `run.abandoned` by the stale-run purge.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import type { AuditEvent, AuditLog } from '../audit/service.js';
import { hasRole, type SessionUser } from '../auth/guards.js';
import { auditActor, requireScope } from '../auth/principal.js';
import type { DataSource, SourceTier } from '../data-sources/registry.js';
import type { DataSourceService } from '../data-sources/service.js';
import { dataSourceUnavailable, isToolsDatabaseUnavailable } from '../db/unavailable.js';
import { AppError } from '../lib/errors.js';
import {
  activeBackend,
  findActiveRun,
  listActiveRuns,
  purgeExpiredRuns,
  registerActiveRun,
  withPurgeLock,
  removeActiveRun,
  requestCancel,
  type ActiveRun,
  type RemovedActiveRun,
} from './active-runs.repository.js';
import { sendCancelRequest } from './cancel-request.js';
import type { CsvStream } from './csv-stream.js';
import { capText } from './error-text.js';
import { checkCallsOnSource } from './function-catalog.js';
import { Execution, RowCollector, type CsvOutcome, type ExecutionLimits, type JsonResult, type RowSink } from './executor.js';
import { RunConnection } from './run-connection.js';
import { runError } from './run-errors.js';
import { explainTierDenial } from './tier-errors.js';
import { probeTierNeeded, type TierNeeded } from './tier-probe.js';
import { RunGate } from './run-gate.js';
import { CancelledBeforeStart, LiveRun } from './live-run.js';
import { refusedRunEvent, storableParams } from './run-params.js';
import { positionInOriginal, prepareStatement, type PreparedStatement } from './statement.js';
import { effectiveParams, type EffectiveParams } from './variable-values.js';
import {
  DEFAULT_RUN_OPTIONS,
  type CsvRun,
  type DashboardCardForRun,
  type JsonRun,
  type Plan,
  type RunContext,
  type RunOptions,
  type RunTarget,
  type SavedQueryForRun,
  type WorkResult,
} from './run-types.js';

/** The result cache's entry point (server/results/run-cache.ts). */
export interface ResultCacheHook {
  runJson(run: CacheableRun, execute: () => Promise<JsonRun>): Promise<JsonRun>;
}

/** A planned run of a saved query that the cache may answer: every check of plan() has passed. */
export interface CacheableRun {
  context: RunContext;
  query: SavedQueryForRun;
  params: Record<string, unknown>;
  /** This request's run id (planned). */
  runId: string;
  tier: string;
  /** How old a result may be to answer this run (the dashboard's max age for a card, else the query's); 0 = off. */
  maxAgeSeconds: number;
  /** The dashboard the run is for, recorded on a cache hit. */
  dashboardId?: string;
}

/** Resolves a run's dashboard for the user; throws (404, 400 not_on_dashboard) when it may not be used. */
export type DashboardCardResolver = (user: SessionUser, dashboardId: string, queryId: string) => Promise<DashboardCardForRun>;

export type { CsvRun, DashboardCardForRun, JsonRun, RunContext, RunOptions, RunTarget, SavedQueryForRun } from './run-types.js';

/** The deadline's margin over statement_timeout: the server's own timeout normally fires first. */
const WATCHDOG_MARGIN_MS = 1_000;
/** How long after its deadline an active_runs row counts as stale (its task died). */
const ACTIVE_ROW_MARGIN_MS = 60_000;
/** A cancel sent from another task is repeated while the run still exists, this often and this many times. */
const REMOTE_CANCEL_INTERVAL_MS = 250;
const REMOTE_CANCEL_REPEATS = 40;
/** A run.started without an end and without a live row this long is abandoned (its end was never recorded). */
const ORPHAN_GRACE_MS = 10 * 60_000;
/** The first wait before a closing event is tried again (tools DB unavailable), doubled up to the max. */
const CLOSE_RETRY_FIRST_DELAY_MS = 100;
const CLOSE_RETRY_MAX_DELAY_MS = 2_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class RunService {
  readonly taskId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly live = new Map<string, LiveRun>();
  private readonly gates = new Map<string, RunGate>();
  /** Writes about finished runs being retried in the background (see later()). */
  private readonly pendingWrites = new Set<Promise<void>>();
  private readonly options: RunOptions;
  private savedQueries?: (user: SessionUser, queryId: string, version?: number, clientIp?: string) => Promise<SavedQueryForRun>;
  private resultCache?: ResultCacheHook;
  private dashboardCards?: DashboardCardResolver;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditLog,
    private readonly sources: DataSourceService,
    private readonly log: FastifyBaseLogger,
    options: Partial<RunOptions> = {},
  ) {
    this.options = { ...DEFAULT_RUN_OPTIONS, ...options };
  }

  /** Saved queries (issue #5) plug in here: resolve an id to its current stored SQL, checking access. */
  useSavedQueries(
    resolve: (user: SessionUser, queryId: string, version?: number, clientIp?: string) => Promise<SavedQueryForRun>,
  ): void {
    this.savedQueries = resolve;
  }

  /** A refusal (someone else's private query, or none) is audited by the queries service as query.access_denied. */
  async resolveSaved(user: SessionUser, queryId: string, version?: number, clientIp?: string): Promise<RunTarget> {
    if (!this.savedQueries) {
      throw new AppError(501, 'not_implemented', 'Running saved queries by id arrives with saved queries (issue #5).');
    }
    return { kind: 'saved', query: await this.savedQueries(user, queryId, version, clientIp) };
  }

  /**
   * Records a run refused before it could be planned (a malformed request: bad params, SQL beside a query
   * id) the way plan() records its refusals, then throws the error.
   */
  async refuseRequest(
    context: RunContext,
    body: Record<string, unknown>,
    format: 'json' | 'csv',
    error: AppError,
  ): Promise<never> {
    const text = (value: unknown) => (typeof value === 'string' ? capText(value, 256) : undefined);
    const base: Omit<AuditEvent, 'action'> = {
      actor: { id: context.user.id, email: context.user.email },
      dataSource: text(body.dataSource),
      queryId: typeof body.queryId === 'string' && /^[0-9]{1,18}$/.test(body.queryId) ? body.queryId : undefined,
      clientIp: context.clientIp,
    };
    const id = typeof body.runId === 'string' && UUID.test(body.runId) ? body.runId : randomUUID();
    await this.audit.record(refusedRunEvent(base, { id, format, sql: body.sql, params: body.params }, error));
    throw error;
  }

  /**
   * The access tier a saved query needs (issue #13) and the one the user has, for its page. Access to the
   * query and the source is checked first, as for a run.
   */
  async tierNeeded(user: SessionUser, queryId: string): Promise<{ needed: TierNeeded | null; yours: string }> {
    const target = await this.resolveSaved(user, queryId);
    if (target.kind !== 'saved') throw new AppError(404, 'not_found', `There is no query ${queryId}.`);
    const source = this.sources.find(user, target.query.dataSource);
    await this.sources.ensureUsable(source);
    const needed = (await probeTierNeeded(source, target.query.sql)) ?? null;
    return { needed, yours: this.sources.tierFor(user, source).name };
  }

  /**
   * Deletes active_runs rows whose task died (expired) and closes their runs as run.abandoned, with any
   * other run.started left without an end for ORPHAN_GRACE_MS. One purge at a time across tasks (the
   * scheduler runs it once across tasks; the lock also covers a direct call). Returns the run ids it closed.
   */
  async purgeStaleRuns(options: { orphanGraceMs?: number } = {}): Promise<string[]> {
    const grace = options.orphanGraceMs ?? ORPHAN_GRACE_MS;
    const closed = await withPurgeLock(this.db, async () => {
      const expired = await purgeExpiredRuns(this.db);
      const [ofExpired, orphans] = await Promise.all([
        this.audit.unclosedRuns({ runIds: expired, limit: 1000 }),
        this.audit.unclosedRuns({ olderThan: new Date(Date.now() - grace), limit: 1000 }),
      ]);
      const runs = new Map([...ofExpired.runs, ...orphans.runs].map((run) => [run.runId, run]));
      for (const run of runs.values()) {
        await this.audit.recordRunClosing(run.runId, {
          action: 'run.abandoned',
          outcome: 'error',
          errorCode: 'run_abandoned',
          actor: run.actorUserId ? { id: run.actorUserId, email: run.actorEmail } : null,
          dataSource: run.dataSource ?? undefined,
          queryId: run.queryId ?? undefined,
          queryVersion: run.queryVersion ?? undefined,
          details: { runId: run.runId, startedSeq: run.seq, reason: 'the task running it stopped before recording its end' },
        });
      }
      if (runs.size) this.log.warn({ runIds: [...runs.keys()] }, `closed ${runs.size} abandoned run(s)`);
      return [...runs.keys()];
    });
    return closed ?? [];
  }

  /** Cancels this task's runs (shutdown) and waits briefly for them (and writes being retried) to record their end. */
  async close(): Promise<void> {
    const runs = [...this.live.values()];
    for (const run of runs) run.cancel('shutdown');
    await Promise.race([
      Promise.all([...runs.map((run) => run.ended), ...this.pendingWrites]),
      new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
    ]);
  }

  /** The result cache plugs in here; it is asked only after plan() has checked everything a run needs. */
  useResultCache(cache: ResultCacheHook): void {
    this.resultCache = cache;
  }

  /** Dashboards plug in here: a run sent with a dashboardId is checked against the dashboard in plan(). */
  useDashboardCards(resolve: DashboardCardResolver): void {
    this.dashboardCards = resolve;
  }

  /** A JSON run collected in memory (callers that keep the result whole; the HTTP response streams instead). */
  async runJson(context: RunContext, target: RunTarget, params: Record<string, unknown>, requestedId?: string): Promise<JsonRun> {
    return collectedRun((sink) => this.runJsonStreaming(context, target, params, sink, requestedId, 'document'));
  }

  /**
   * The same run as runJson, with the rows handed to `sink` batch by batch as they are read (the response
   * streams them; the next batch is read once the sink took the last). Resolves with the totals once the
   * run has ended and its closing audit event is committed.
   */
  async runJsonStreaming(
    context: RunContext,
    target: RunTarget,
    params: Record<string, unknown>,
    sink: RowSink,
    requestedId?: string,
    batches: 'document' | 'stream' = 'stream',
  ): Promise<Omit<JsonRun, 'rowsJson' | 'columns'>> {
    const plan = await this.plan(context, target, params, 'json', requestedId);
    const head = { id: plan.id, statement: plan.prepared.checked.kind };
    const headed: RowSink = { columns: (columns) => sink.columns(columns, head), rows: (json, count) => sink.rows(json, count) };
    // A saved query's plain JSON run may be answered from the result cache (or computed once for all who
    // wait on it): such a run is collected whole, within MAX_RESULT_BYTES, and then handed to the sink.
    // Free SQL and row streams (NDJSON) never touch the cache and stream from the database as they come.
    if (this.resultCache && plan.saved && batches === 'document' && !context.cache?.off) {
      // Keyed by the values bound: a rolling `today-29d` shares results within a day, not across days.
      const cacheable: CacheableRun = {
        context,
        query: plan.saved,
        params: plan.params,
        runId: plan.id,
        tier: plan.tier.name,
        maxAgeSeconds: plan.card ? plan.card.cacheMaxAgeSeconds : (plan.saved.cacheMaxAgeSeconds ?? 0),
        dashboardId: plan.card?.dashboardId,
      };
      const run = await this.resultCache.runJson(cacheable, () => this.executeCollected(context, plan));
      headed.columns(run.columns);
      if (run.rowCount > 0) await headed.rows(run.rowsJson, run.rowCount);
      const { rowsJson: _rows, columns: _columns, ...totals } = run;
      return { ...totals, id: plan.id, tier: plan.tier.name };
    }
    return this.executeStreaming(context, plan, headed, batches);
  }

  private executeCollected(context: RunContext, plan: Plan): Promise<JsonRun> {
    return collectedRun((sink) => this.executeStreaming(context, plan, sink, 'document'));
  }

  private async executeStreaming(
    context: RunContext,
    plan: Plan,
    sink: RowSink,
    batches: 'document' | 'stream',
  ): Promise<Omit<JsonRun, 'rowsJson' | 'columns'>> {
    let result!: JsonResult;
    const durationMs = await this.lifecycle(context, plan, async (execution) => {
      result = await execution.json(plan.limits, sink, { batches });
      return { rowCount: result.rowCount, truncated: result.truncated, truncatedBy: result.truncatedBy };
    });
    return {
      id: plan.id,
      statement: plan.prepared.checked.kind,
      rowCount: result.rowCount,
      truncated: result.truncated,
      ...(result.truncatedBy ? { truncatedBy: result.truncatedBy } : {}),
      durationMs,
      tier: plan.tier.name,
    };
  }

  /** Resolves once the first rows are in (errors before that are thrown); the stream carries the rest. */
  async runCsv(context: RunContext, target: RunTarget, params: Record<string, unknown>, requestedId?: string): Promise<CsvRun> {
    const plan = await this.plan(context, target, params, 'csv', requestedId);
    let ready!: (stream: CsvStream) => void;
    const streamReady = new Promise<CsvStream>((resolve) => (ready = resolve));
    const finished = this.lifecycle(context, plan, async (execution) => {
      const { stream, outcome } = await execution.csv(plan.limits);
      ready(stream);
      const csv: CsvOutcome = await outcome;
      return { rowCount: csv.rowCount, truncated: csv.truncated, truncatedBy: csv.truncatedBy, bytes: csv.bytes };
    });
    // The stream holds its last bytes until run.finished and run.csv_downloaded are committed; a failure
    // (recorded in the audit log) aborts it.
    finished.then(
      () => void streamReady.then((stream) => stream.release()),
      (error: unknown) => void streamReady.then((stream) => stream.endWithError(error)),
    );
    const stream = await Promise.race([streamReady, finished.then(() => streamReady)]);
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    const base = target.kind === 'saved' ? `query-${target.query.id}` : plan.source.id;
    const mark = plan.tier.readsSensitive ? `-${plan.tier.name}` : '';
    return {
      id: plan.id,
      stream,
      filename: `${base}${mark}-${stamp}.csv`,
      tier: plan.tier.name,
      sensitive: plan.tier.readsSensitive,
    };
  }

  /** Cancels a run on any task: its owner or an admin may; anyone else gets a 404. */
  async cancel(user: SessionUser, runId: string): Promise<{ id: string; cancelled: true }> {
    if (!UUID.test(runId)) throw notRunning(runId);
    const local = this.live.get(runId);
    if (local) {
      if (local.userId !== user.id && !hasRole(user, 'admin')) throw notRunning(runId);
      local.cancel(local.userId === user.id ? 'user' : 'admin', { id: user.id, email: user.email, name: user.name });
      return { id: runId, cancelled: true };
    }
    const found = await findActiveRun(this.db, runId);
    if (!found || (found.userId !== user.id && !hasRole(user, 'admin'))) throw notRunning(runId);
    // Another task runs it. Mark the row first: its runner then never reuses the connection. While the
    // row exists the key names this run's connection only, so the request is repeated until the row goes
    // (a cancel that lands between two of the run's statements is ignored by PostgreSQL).
    const marked = await requestCancel(this.db, runId, user.id);
    if (!marked?.backend) throw notRunning(runId);
    await sendCancelRequest(marked.backend);
    void this.repeatCancel(runId);
    return { id: runId, cancelled: true };
  }

  private async repeatCancel(runId: string): Promise<void> {
    for (let attempt = 0; attempt < REMOTE_CANCEL_REPEATS; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, REMOTE_CANCEL_INTERVAL_MS).unref());
      const backend = await activeBackend(this.db, runId).catch(() => undefined);
      if (!backend) return;
      await sendCancelRequest(backend);
    }
  }

  /** Every run executing now, on every task (admins). */
  async active(): Promise<Array<Omit<ActiveRun, 'backend'> & { backendPid: number | null }>> {
    const runs = await listActiveRuns(this.db);
    return runs.map(({ backend, ...run }) => ({ ...run, backendPid: backend?.pid ?? null }));
  }

  // -- internals ------------------------------------------------------------------------------------

  private async plan(
    context: RunContext,
    target: RunTarget,
    params: Record<string, unknown>,
    format: 'json' | 'csv',
    requestedId?: string,
  ) {
    const { user } = context;
    const saved = target.kind === 'saved' ? target.query : undefined;
    const sourceId = saved ? saved.dataSource : (target as { dataSource: string }).dataSource;
    const sql = saved ? saved.sql : (target as { sql: string }).sql;
    const id = requestedId ?? randomUUID();
    const auditBase: Omit<AuditEvent, 'action'> = {
      actor: auditActor(user),
      dataSource: sourceId,
      queryId: saved?.id,
      queryVersion: saved?.version,
      clientIp: context.clientIp,
    };
    // Every event of a dashboard card's run names the dashboard, so "who saw this card" is answerable.
    const auditDetails: Record<string, unknown> = saved && context.dashboardId ? { dashboardId: context.dashboardId } : {};
    const refuse = async (error: AppError): Promise<never> => {
      await this.audit.record(refusedRunEvent(auditBase, { id, format, sql, params, details: auditDetails }, error));
      throw error;
    };

    if (requestedId !== undefined && !UUID.test(requestedId)) {
      throw new AppError(400, 'invalid_request', 'runId must be a UUID (the client generates it so it can cancel the run).');
    }
    try {
      requireScope(user, saved ? 'queries:run' : 'sql:run'); // a token's scopes narrow the role checks below
    } catch (error) {
      return refuse(error as AppError);
    }
    if (context.dashboardId !== undefined && !saved) {
      return refuse(new AppError(400, 'invalid_request', 'dashboardId goes with queryId (a card runs a saved query).'));
    }
    let card: DashboardCardForRun | undefined;
    if (saved && context.dashboardId !== undefined) {
      if (!this.dashboardCards) throw new AppError(501, 'not_implemented', 'Dashboards are not enabled on this server.');
      try {
        card = await this.dashboardCards(user, context.dashboardId, saved.id);
      } catch (error) {
        if (error instanceof AppError && error.statusCode < 500) return refuse(error);
        throw error;
      }
    }
    if (!saved && !hasRole(user, 'editor')) {
      return refuse(
        new AppError(403, 'forbidden', 'Viewers can run saved queries only; ask an editor to save this query for you.'),
      );
    }
    let source: DataSource;
    let prepared: PreparedStatement;
    let effective: EffectiveParams;
    try {
      source = this.sources.find(user, sourceId);
      effective = effectiveParams(sql, params, saved?.variables ?? [], { timeZone: context.timeZone });
      prepared = await prepareStatement(sql, effective.params, saved?.variables ?? [], {
        runId: id,
        userId: user.id,
        queryId: saved?.id,
      });
    } catch (error) {
      if (error instanceof AppError && error.statusCode < 500) return refuse(error);
      throw error;
    }
    // A source that cannot be reached (or refused by its self-check) is recorded as a failed run, as the
    // refusals are; an unavailable tools DB is not (nothing can be recorded then, and no run starts).
    const recordedRefusal = (error: unknown): Promise<never> =>
      error instanceof AppError && !isToolsDatabaseUnavailable(error) ? refuse(error) : Promise.reject(error);
    await this.sources.ensureUsable(source).catch(recordedRefusal);
    // The tier (issue #13) comes from the user's groups alone, per run; the SQL cannot name or change it.
    const tier = this.sources.tierFor(user, source);
    // The guard judged the names as written; the source's catalog resolves operators, types, views and aliases.
    await checkCallsOnSource(prepared, tier.pool, source.id).catch((error: unknown) =>
      error instanceof AppError && (error.statusCode < 500 || error.code === 'data_source_unavailable')
        ? refuse(error)
        : Promise.reject(error),
    );
    const sourceLimits = this.sources.limits(source);
    const limits: ExecutionLimits = {
      maxRows: format === 'csv' ? sourceLimits.maxCsvRows : sourceLimits.maxRows,
      maxBytes: format === 'csv' ? Number.POSITIVE_INFINITY : this.options.maxResultBytes,
      maxRowBytes: this.options.maxRowBytes,
    };
    const timeoutMs = context.timeoutMs ?? sourceLimits.timeoutMs;
    const { relative, defaulted, timeZone } = effective;
    const resolution = { relative, defaulted, timeZone };
    return {
      id,
      format,
      source,
      tier,
      prepared,
      limits,
      timeoutMs,
      auditBase,
      sql,
      params: effective.params,
      resolution,
      saved,
      card,
      auditDetails,
    };
  }

  /** One gate per tier's pool: each tier has its own connections. */
  private gate(source: DataSource, tier: SourceTier): RunGate {
    const key = `${source.id}\u0000${tier.name}`;
    let gate = this.gates.get(key);
    if (!gate) {
      const capacity = (tier.pool as unknown as { options: { max: number } }).options.max;
      gate = new RunGate(capacity, this.options.maxWaitingPerSource, this.options.maxWaitMs);
      this.gates.set(key, gate);
    }
    return gate;
  }

  /**
   * Takes a turn at the source (global cap) and a connection, registers the run with the connection's
   * cancel key (per-user cap, across tasks), records run.started, executes with a deadline, and records
   * the end. Returns the duration in ms.
   */
  private async lifecycle(context: RunContext, plan: Plan, work: (execution: Execution) => Promise<WorkResult>): Promise<number> {
    const { user } = context;
    const startedAt = performance.now();
    const elapsed = () => Math.round(performance.now() - startedAt);
    const run = new LiveRun(plan.id, user.id);
    if (this.live.has(plan.id)) throw new AppError(409, 'conflict', `A run with id ${plan.id} already exists.`);
    this.live.set(plan.id, run);
    context.onPlanned?.();
    const onAbort = () => run.cancel('disconnect');
    context.signal?.addEventListener('abort', onAbort);
    if (context.signal?.aborted) onAbort();

    let registered = false;
    /** run.started is committed: its closing event is retried while the tools DB is away. */
    let startRecorded = false;
    /** Writing the closing event was tried: nothing that fails afterwards may try a second one. */
    let closing = false;
    let removed: Awaited<ReturnType<typeof removeActiveRun>>;
    let execution: Execution | undefined;
    try {
      const leave = await this.gate(plan.source, plan.tier).enter();
      try {
        run.check();
        // A source that cannot be reached fails the run before it starts; it is recorded as run.failed.
        const connection = await RunConnection.open(plan.tier.pool).catch((error: unknown) =>
          this.refuseUnavailable(plan, dataSourceUnavailable(plan.source.id, error)),
        );
        const deadline = setTimeout(() => run.cancel('timeout'), plan.timeoutMs + WATCHDOG_MARGIN_MS);
        let result: WorkResult;
        let began: Promise<void> | undefined;
        try {
          // BEGIN travels while the run is registered and recorded; the query itself waits for both, so
          // run.started is committed before anything the user wrote reaches the database.
          began = connection.begin(plan.timeoutMs);
          began.catch(() => undefined);
          await this.register(plan, user, connection);
          registered = true;
          await this.audit.record({
            ...plan.auditBase,
            action: 'run.started',
            sql: plan.sql,
            params: storableParams(plan.params),
            details: {
              runId: plan.id,
              format: plan.format,
              statement: plan.prepared.checked.kind,
              tier: plan.tier.name,
              ...variableDetails(plan.resolution),
              ...plan.auditDetails,
            },
          });
          startRecorded = true;
          await began;
          run.check();
          context.onStarted?.();
          execution = new Execution(connection, plan.prepared);
          run.execution = execution;
          result = await work(execution);
        } finally {
          clearTimeout(deadline);
          await began?.catch(() => undefined);
          // The row goes before the connection does (see removeActiveRun); a cancel requested from
          // another task means a cancel request may still arrive, so that connection is not reused.
          const removal = registered
            ? removeActiveRun(this.db, plan.id).catch((error: unknown) => {
                // Left in place it would count against the user's cap until it expires: removed once the
                // tools DB is back.
                if (isToolsDatabaseUnavailable(error))
                  this.later(plan.id, 'removing a run from active_runs', () => removeActiveRun(this.db, plan.id));
                return { cancelRequested: true, cancelledBy: null };
              })
            : undefined;
          await Promise.all([connection.reset(), removal]);
          removed = await removal;
          if (removed?.cancelRequested) connection.taint();
          connection.giveBack();
          leave();
        }
        const durationMs = elapsed();
        closing = true;
        await this.finish(plan, result, durationMs);
        return durationMs;
      } finally {
        leave();
      }
    } catch (error) {
      if (!registered) throw error instanceof CancelledBeforeStart ? runError(error, { ...this.errorContext(plan, run) }) : error;
      // The closing event could not be written even after its retries: the stale-run purge closes the run
      // as run.abandoned later. The client learns why (tools_database_unavailable).
      if (closing) throw error;
      throw await this.fail(plan, run, execution, removed, error, elapsed(), startRecorded);
    } finally {
      context.signal?.removeEventListener('abort', onAbort);
      this.live.delete(plan.id);
      run.end();
    }
  }

  /** Inserts the active_runs row, or answers 429 when the user already has perUserRuns runs going. */
  private async register(plan: Plan, user: SessionUser, connection: RunConnection): Promise<void> {
    let registered: boolean;
    try {
      registered = await registerActiveRun(
        this.db,
        {
          id: plan.id,
          userId: user.id,
          userEmail: user.email,
          dataSource: plan.source.id,
          queryId: plan.saved?.id,
          queryVersion: plan.saved?.version,
          sql: plan.sql,
          format: plan.format,
          taskId: this.taskId,
          backend: connection.backend,
          ttlMs: plan.timeoutMs + ACTIVE_ROW_MARGIN_MS,
        },
        this.options.perUserRuns,
      );
    } catch (error) {
      if ((error as { code?: string }).code === '23505')
        throw new AppError(409, 'conflict', `A run with id ${plan.id} already exists.`);
      throw error;
    }
    if (!registered) {
      throw new AppError(
        429,
        'too_many_runs',
        `You already have ${this.options.perUserRuns} queries running; wait for one to finish or cancel it.`,
        { limit: this.options.perUserRuns, retryAfterSeconds: 2 },
      );
    }
  }

  private async finish(plan: Plan, result: WorkResult, durationMs: number): Promise<void> {
    const details = {
      runId: plan.id,
      format: plan.format,
      tier: plan.tier.name,
      truncated: result.truncated,
      truncatedBy: result.truncatedBy,
      ...plan.auditDetails,
    };
    await this.recordClosing(plan.id, {
      ...plan.auditBase,
      action: 'run.finished',
      outcome: 'ok',
      rowCount: result.rowCount,
      durationMs,
      details,
    });
    if (plan.format === 'csv') {
      await this.whileToolsDbReturns(() =>
        this.audit.record({
          ...plan.auditBase,
          action: 'run.csv_downloaded',
          outcome: 'ok',
          rowCount: result.rowCount,
          durationMs,
          // A download under a tier that reads sensitive columns is marked as such (issue #13).
          details: { ...details, bytes: result.bytes, ...(plan.tier.readsSensitive ? { sensitive: true } : {}) },
        }),
      );
    }
  }

  /**
   * Writes a run's closing event (once per run: see AuditLog.recordRunClosing), retrying with backoff while
   * the tools DB is unavailable (a restart, a failover) for up to closeRetryMs. If this task dies first,
   * the stale-run purge closes the run as run.abandoned.
   */
  private recordClosing(runId: string, event: AuditEvent): Promise<unknown> {
    return this.whileToolsDbReturns(() => this.audit.recordRunClosing(runId, event));
  }

  /**
   * A write about a finished run that the tools DB refused while away (its closing event, its active_runs
   * row's removal), retried in the background with backoff for up to closeRetryMs.
   */
  private later(runId: string, what: string, write: () => Promise<unknown>): void {
    const pending: Promise<void> = this.whileToolsDbReturns(write)
      .then(
        () => this.log.info({ runId }, `${what}: done once the tools DB was back`),
        (error: unknown) => this.log.error({ err: error, runId }, `${what} failed; the stale-run purge will see to it`),
      )
      .finally(() => this.pendingWrites.delete(pending));
    this.pendingWrites.add(pending);
  }

  /** `write`, tried again with backoff while it fails with tools_database_unavailable, up to closeRetryMs. */
  private async whileToolsDbReturns<T>(write: () => Promise<T>): Promise<T> {
    const giveUpAt = Date.now() + this.options.closeRetryMs;
    for (let delay = CLOSE_RETRY_FIRST_DELAY_MS; ; delay = Math.min(delay * 2, CLOSE_RETRY_MAX_DELAY_MS)) {
      try {
        return await write();
      } catch (error) {
        if (!isToolsDatabaseUnavailable(error) || Date.now() + delay > giveUpAt) throw error;
        await sleep(delay);
      }
    }
  }

  /** A run that could not start because its source is unavailable: recorded as run.failed, then thrown. */
  private async refuseUnavailable(plan: Plan, error: AppError): Promise<never> {
    await this.audit.record(
      refusedRunEvent(plan.auditBase, { id: plan.id, format: plan.format, sql: plan.sql, params: plan.params }, error),
    );
    throw error;
  }

  private errorContext(plan: Plan, run: LiveRun, execution?: Execution) {
    return {
      sourceId: plan.source.id,
      cancelReason: run.cancelReason,
      // Someone else's cancel (an admin's) is named to the run's owner.
      cancelledBy: run.cancelledBy && run.cancelledBy.id !== run.userId ? run.cancelledBy : undefined,
      timeoutMs: plan.timeoutMs,
      position: (pgPosition: string | undefined) =>
        execution ? positionInOriginal(plan.prepared, execution.sent, pgPosition) : undefined,
    };
  }

  /** Records how a started run ended badly and returns the error to answer with. */
  private async fail(
    plan: Plan,
    run: LiveRun,
    execution: Execution | undefined,
    removed: RemovedActiveRun | undefined,
    error: unknown,
    durationMs: number,
    startRecorded: boolean,
  ): Promise<AppError> {
    // A cancel that came through another task shows up only as PostgreSQL's "canceling statement".
    if (!run.cancelReason && removed?.cancelRequested && (error as { code?: string }).code === '57014') {
      run.cancelReason = 'remote';
      run.cancelledBy = removed.cancelledBy ?? undefined;
    }
    const base = runError(
      error instanceof CancelledBeforeStart ? new Error('cancelled before start') : error,
      this.errorContext(plan, run, execution),
    );
    const pgMessage = error instanceof Error ? error.message : undefined;
    const answer = await explainTierDenial(base, pgMessage, plan.sql, plan.source, plan.tier, this.sources).catch(() => base);
    if (answer.statusCode >= 500 && answer.code !== 'server_stopping') {
      this.log.error(
        {
          err: { message: capText(String((error as Error)?.message ?? error)), code: (error as { code?: string })?.code },
          runId: plan.id,
          dataSource: plan.source.id,
        },
        'run failed on the data source',
      );
    }
    const cancelled = answer.code === 'query_cancelled' || run.cancelReason === 'disconnect' || run.cancelReason === 'shutdown';
    if (run.cancelReason === 'disconnect') this.log.info({ runId: plan.id }, 'run cancelled: the client went away');
    const closingEvent: AuditEvent = cancelled
      ? {
          ...plan.auditBase,
          action: 'run.cancelled',
          outcome: 'cancelled',
          durationMs,
          details: {
            runId: plan.id,
            format: plan.format,
            tier: plan.tier.name,
            reason: run.cancelReason ?? 'unknown',
            cancelledBy: run.cancelledBy?.id ?? null,
            ...(run.cancelledBy?.email ? { cancelledByEmail: run.cancelledBy.email } : {}),
            ...plan.auditDetails,
          },
        }
      : {
          ...plan.auditBase,
          action: 'run.failed',
          outcome: answer.statusCode === 403 ? 'denied' : 'error',
          errorCode: answer.code,
          durationMs,
          details: {
            runId: plan.id,
            format: plan.format,
            tier: plan.tier.name,
            message: capText(answer.message),
            ...plan.auditDetails,
          },
        };
    // Normally the closing event is committed before the client hears how the run ended. While the tools
    // DB is away, the answer goes out at once and the closing event is retried in the background.
    await this.audit.recordRunClosing(plan.id, closingEvent).catch((auditError: unknown) => {
      if (startRecorded && isToolsDatabaseUnavailable(auditError))
        this.later(plan.id, 'recording the end of a run', () => this.audit.recordRunClosing(plan.id, closingEvent));
      else
        this.log.error(
          { err: auditError, runId: plan.id },
          'recording the end of a run failed; the stale-run purge will close it',
        );
    });
    return answer;
  }
}

/** A JSON run whose rows are kept whole in memory, from one that hands them to a sink. */
async function collectedRun(run: (sink: RowSink) => Promise<Omit<JsonRun, 'rowsJson' | 'columns'>>): Promise<JsonRun> {
  const collected = new RowCollector();
  const totals = await run(collected);
  return { ...totals, columns: collected.described, rowsJson: collected.rowsJson };
}

/** What run.started says about the values beside `params` (which are the absolute values bound). */
function variableDetails(resolution: Plan['resolution']): Record<string, unknown> {
  const relative = Object.keys(resolution.relative).length > 0;
  return {
    ...(relative ? { relativeParams: storableParams(resolution.relative), timeZone: resolution.timeZone } : {}),
    ...(resolution.defaulted.length ? { defaultParams: resolution.defaulted } : {}),
  };
}

function notRunning(runId: string): AppError {
  return new AppError(404, 'not_found', `No run ${runId} is running (it may have finished already).`);
}
