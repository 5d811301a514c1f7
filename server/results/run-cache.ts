// The result cache for runs of saved queries: POST /api/runs {queryId} (JSON) may be answered from a
// result computed within the max age (the dashboard's when the run is for a dashboard card, otherwise
// the query's; 0 = off) for the same query version, data source, parameter values and tier. The engine
// calls this only after its own checks (access to the query and the source, the statement, the
// parameters: RunService.plan), so a cached answer passes exactly the checks a fresh run would. Every
// answer from the cache is audited (run.cache_hit, by the store before it returns the rows).
//
// Single flight: runs that miss on the same key take a transaction-scoped advisory lock on the tools DB
// keyed by the cache key, so across all tasks one of them executes and the others, once they get the
// lock, find its result. Within a task the waiters queue in memory first, so one key never holds more
// than one tools-DB connection per task; and at most LOCK_HOLDERS keys hold one at a time, beyond which a
// run executes without single flight rather than wait for the pool (a duplicate run, never a deadlock).
import { sql, type Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../../schema/database.js';
import type { SessionUser } from '../auth/guards.js';
import type { JsonRun, RunContext, SavedQueryForRun } from '../engine/run-types.js';
import { cacheKey, type ResultStore } from './store.js';

/** How long a result may be reused, for this run of this query (0 = off); may throw (e.g. 404). */
export type MaxAgeResolver = (user: SessionUser, query: SavedQueryForRun, dashboardId: string | undefined) => Promise<number>;

const LOCK_HOLDERS = 4;

export class RunCache {
  private readonly flights = new Map<string, Promise<void>>();
  private holders = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly store: ResultStore,
    private readonly maxAgeFor: MaxAgeResolver,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** `runId` is the id this request's run has (planned); `execute` runs it for real. */
  async runJson(
    context: RunContext,
    query: SavedQueryForRun,
    params: Record<string, unknown>,
    runId: string,
    tier: string,
    execute: () => Promise<JsonRun>,
  ): Promise<JsonRun> {
    const maxAgeSeconds = await this.maxAgeFor(context.user, query, context.cache?.dashboardId);
    if (maxAgeSeconds <= 0) return execute();
    // A result is shared only between runs of the same access tier (what one tier read, another may not).
    const key = cacheKey({ queryId: query.id, queryVersion: query.version, dataSource: query.dataSource, params, tier });
    const lookup = () => (context.cache?.refresh ? undefined : this.lookup(context, query, params, runId, key, maxAgeSeconds));

    const hit = await lookup();
    if (hit) return hit;
    return this.singleFlight(key, async () => {
      const meanwhile = await lookup(); // computed by whoever held the lock before us
      if (meanwhile) return meanwhile;
      const run = await execute();
      if (run.statement === 'select') await this.keep(context, query, key, tier, run, maxAgeSeconds);
      return run;
    });
  }

  private async lookup(
    context: RunContext,
    query: SavedQueryForRun,
    params: Record<string, unknown>,
    runId: string,
    key: string,
    maxAgeSeconds: number,
  ): Promise<JsonRun | undefined> {
    const startedAt = performance.now();
    const found = await this.store.readCached({
      query,
      cacheKey: key,
      maxAgeSeconds,
      audit: (entry) => ({
        action: 'run.cache_hit',
        actor: { id: context.user.id, email: context.user.email },
        dataSource: query.dataSource,
        queryId: query.id,
        queryVersion: query.version,
        outcome: 'ok',
        rowCount: entry.rowCount,
        params,
        clientIp: context.clientIp,
        details: {
          runId,
          fromRunId: entry.runId,
          computedAt: entry.computedAt.toISOString(),
          dashboardId: context.cache?.dashboardId ?? null,
        },
      }),
    });
    if (!found) return undefined;
    return {
      id: runId,
      statement: 'select',
      columns: found.columns as JsonRun['columns'],
      rowsJson: found.rowsJson,
      rowCount: found.rowCount,
      truncated: found.truncated,
      durationMs: Math.round(performance.now() - startedAt),
      tier: found.tier ?? '',
      cached: { runId: found.runId, computedAt: found.computedAt },
    };
  }

  private async keep(
    context: RunContext,
    query: SavedQueryForRun,
    key: string,
    tier: string,
    run: JsonRun,
    maxAgeSeconds: number,
  ) {
    try {
      await this.store.put({
        runId: run.id,
        ownerId: context.user.id,
        query: { id: query.id, version: query.version },
        dataSource: query.dataSource,
        cacheKey: key,
        tier,
        columns: run.columns,
        rowsJson: run.rowsJson,
        rowCount: run.rowCount,
        truncated: run.truncated,
        ttlSeconds: maxAgeSeconds,
      });
    } catch (error) {
      // The run succeeded; a result that could not be kept only costs a later run.
      this.log.warn({ err: error, runId: run.id }, 'storing a result in the cache failed');
    }
  }

  /** One execution per key at a time: queued in memory within this task, an advisory lock across tasks. */
  private async singleFlight<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.flights.get(key);
    const mine = (async () => {
      if (before) await before;
      return this.underLock(key, work);
    })();
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.flights.set(key, settled);
    try {
      return await mine;
    } finally {
      if (this.flights.get(key) === settled) this.flights.delete(key);
    }
  }

  private async underLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    if (this.holders >= LOCK_HOLDERS) return work();
    this.holders++;
    try {
      return await this.db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtextextended(${`porthole.result-cache:${key}`}, 0))`.execute(trx);
        return work();
      });
    } finally {
      this.holders--;
    }
  }
}
