// Liveness (the process answers) and readiness (the tools DB answers, every data source answers and passed
// its self-check: a source whose role could write is "refused" and keeps the task not ready). The public
// answer names the sources only; what is wrong with a role is for admins (GET /api/data-sources) and the log.
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { DataSource, DataSourceRegistry } from '../data-sources/registry.js';
import type { DataSourceService } from '../data-sources/service.js';
import { dataSourceUnavailable, toolsDatabaseUnavailable } from '../db/unavailable.js';
import { AppError, errorBody } from '../lib/errors.js';

const CHECK_TIMEOUT_MS = 2000;

async function ping(pool: pg.Pool): Promise<'ok' | 'unreachable'> {
  const attempt = pool.query('select 1').then(() => 'ok' as const);
  const timeout = new Promise<'unreachable'>((resolve) => setTimeout(() => resolve('unreachable'), CHECK_TIMEOUT_MS).unref());
  return Promise.race([attempt, timeout]).catch(() => 'unreachable' as const);
}

type SourceReadiness = 'ok' | 'unreachable' | 'refused';

/** Reachable, then the self-check's verdict (run once per task; waited for here at most CHECK_TIMEOUT_MS). */
async function sourceReadiness(source: DataSource, service: DataSourceService): Promise<SourceReadiness> {
  if ((await ping(source.pool)) !== 'ok') return 'unreachable';
  const verdict = service.verify(source).then((result) => (result.problems.length ? 'refused' : 'ok') as SourceReadiness);
  const timeout = new Promise<'unreachable'>((resolve) => setTimeout(() => resolve('unreachable'), CHECK_TIMEOUT_MS).unref());
  return Promise.race([verdict, timeout]).catch(() => 'unreachable' as const);
}

const ReadinessSchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Record(Type.String(), Type.String()),
  refused: Type.Optional(Type.Array(Type.String(), { description: 'Data sources refused by their self-check' })),
  error: Type.Optional(
    Type.Object(
      { code: Type.String(), message: Type.String() },
      { additionalProperties: true, description: 'With 503: what is not ready, in the shape of every error answer' },
    ),
  ),
});

/**
 * The 503's error member, for the first thing that fails: the tools DB (nothing works without it), a source
 * that cannot be reached, a source refused by its self-check (why is for admins), the audit log.
 */
function notReadyError(entries: ReadonlyArray<readonly [string, string]>): AppError {
  const failing = entries.filter(([, status]) => status !== 'ok');
  const sourceId = (name: string) => name.split(':')[1]!;
  if (failing.some(([name]) => name === 'tools')) return toolsDatabaseUnavailable(undefined);
  const unreachable = failing.find(([name, status]) => name.startsWith('source:') && status === 'unreachable');
  if (unreachable) return dataSourceUnavailable(sourceId(unreachable[0]), undefined);
  const refused = failing.find(([, status]) => status === 'refused');
  if (refused) {
    const id = sourceId(refused[0]);
    return new AppError(503, 'data_source_refused', `The data source "${id}" failed its self-check; admins see why.`, {
      dataSource: id,
    });
  }
  return new AppError(503, 'not_ready', 'The audit log can be rewritten by the server (refused in production).');
}

export interface HealthOptions {
  toolsPool: pg.Pool;
  dataSources: DataSourceRegistry;
  /** Each source's self-check: a refused source keeps the task not ready. */
  dataSourceService: DataSourceService;
  /** Ways the serving role could rewrite the audit log (server/audit/serving-role-check.ts). */
  auditLogRisks: () => Promise<string[]>;
  /** In production a rewritable audit log makes the task not ready (start-up refuses it too). */
  production: boolean;
}

async function auditLogCheck(opts: HealthOptions): Promise<'append-only' | 'rewritable' | 'unknown'> {
  const attempt = opts.auditLogRisks().then((risks) => (risks.length ? ('rewritable' as const) : ('append-only' as const)));
  const timeout = new Promise<'unknown'>((resolve) => setTimeout(() => resolve('unknown'), CHECK_TIMEOUT_MS).unref());
  return Promise.race([attempt, timeout]).catch(() => 'unknown' as const);
}

export async function healthRoutes(app: FastifyInstance, opts: HealthOptions) {
  app.get(
    '/healthz',
    { logLevel: 'warn', schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({
      status: 'ok' as const,
    }),
  );

  app.get(
    '/readyz',
    { logLevel: 'warn', schema: { response: { 200: ReadinessSchema, 503: ReadinessSchema } } },
    async (_request, reply) => {
      const [auditLog, ...entries] = await Promise.all([
        auditLogCheck(opts),
        ping(opts.toolsPool).then((status) => ['tools', status] as const),
        ...opts.dataSources
          .list()
          .map((source) =>
            sourceReadiness(source, opts.dataSourceService).then((status) => [`source:${source.id}`, status] as const),
          ),
        // The higher tiers' own pools (the first tier is the source's pool, judged above).
        ...opts.dataSources
          .pools()
          .filter(([name]) => name.split(':').length > 2)
          .map(([name, pool]) => ping(pool).then((status) => [name, status] as const)),
      ]);
      const checks = { ...Object.fromEntries(entries), audit_log: auditLog };
      const ready = entries.every(([, status]) => status === 'ok') && (!opts.production || auditLog === 'append-only');
      const refused = entries.filter(([, status]) => status === 'refused').map(([name]) => name.slice('source:'.length));
      const body = {
        status: ready ? ('ready' as const) : ('not_ready' as const),
        checks,
        ...(refused.length ? { refused } : {}),
      };
      if (ready) return reply.status(200).send(body);
      const { code, message, details } = notReadyError(entries);
      if (details?.retryAfterSeconds !== undefined) reply.header('retry-after', String(details.retryAfterSeconds));
      return reply.status(503).send({ ...body, ...errorBody(code, message, details) });
    },
  );
}
