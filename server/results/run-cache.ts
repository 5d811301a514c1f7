// The result cache for runs of saved queries: POST /api/runs {queryId} (JSON) may be answered from a
// result computed within the max age (the dashboard's when the run is for a dashboard card, otherwise
// the query's; 0 = off) for the same query version, data source, parameter values and tier. The engine
// calls this only after its own checks (access to the query, the dashboard and the source, the
// statement, the parameters: RunService.plan, which also decides the max age), so a cached answer passes
// exactly the checks a fresh run would. Every answer from the cache is audited (run.cache_hit with the
// run it came from, who, and which dashboard; recorded by the store before it returns the rows).
//
// Single flight: runs that miss on the same key take a transaction-scoped advisory lock on the tools DB
// keyed by the cache key, so across all tasks one of them executes and the others, once they get the
// lock, find its result. Within a task the waiters queue in memory first, so one key never holds more
// than one tools-DB connection per task; and at most LOCK_HOLDERS keys hold one at a time, beyond which a
// run executes without single flight rather than wait for the pool (a duplicate run, never a deadlock).
import { sql, type Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../../schema/database.js';
import type { JsonRun } from '../engine/run-types.js';
import type { CacheableRun, ResultCacheHook } from '../engine/runs.service.js';
import { cacheKey, type ResultStore } from './store.js';

const LOCK_HOLDERS = 4;

export class RunCache implements ResultCacheHook {
  private readonly flights = new Map<string, Promise<void>>();
  private holders = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly store: ResultStore,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** `execute` runs it for real. */
  async runJson(run: CacheableRun, execute: () => Promise<JsonRun>): Promise<JsonRun> {
    const { query, params, tier, maxAgeSeconds } = run;
    if (maxAgeSeconds <= 0) return execute();
    // A result is shared only between runs of the same access tier (what one tier read, another may not).
    const key = cacheKey({ queryId: query.id, queryVersion: query.version, dataSource: query.dataSource, params, tier });
    const lookup = () => (run.context.cache?.refresh ? undefined : this.lookup(run, key));

    const hit = await lookup();
    if (hit) return hit;
    return this.singleFlight(key, async () => {
      const meanwhile = await lookup(); // computed by whoever held the lock before us
      if (meanwhile) return meanwhile;
      const executed = await execute();
      if (executed.statement === 'select') await this.keep(run, key, executed);
      return executed;
    });
  }

  private async lookup(run: CacheableRun, key: string): Promise<JsonRun | undefined> {
    const { context, query, params, runId } = run;
    const startedAt = performance.now();
    const found = await this.store.readCached({
      query,
      cacheKey: key,
      maxAgeSeconds: run.maxAgeSeconds,
      audit: (entry) => ({
        action: 'run.cache_hit',
        actor: context.user, // the principal: a token's id is recorded beside the user
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
          dashboardId: run.dashboardId ?? null,
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

  private async keep(run: CacheableRun, key: string, executed: JsonRun) {
    try {
      await this.store.put({
        runId: executed.id,
        ownerId: run.context.user.id,
        query: { id: run.query.id, version: run.query.version },
        dataSource: run.query.dataSource,
        cacheKey: key,
        tier: run.tier,
        columns: executed.columns,
        rowsJson: executed.rowsJson,
        rowCount: executed.rowCount,
        truncated: executed.truncated,
        ttlSeconds: run.maxAgeSeconds,
      });
    } catch (error) {
      // The run succeeded; a result that could not be kept only costs a later run.
      this.log.warn({ err: error, runId: executed.id }, 'storing a result in the cache failed');
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
