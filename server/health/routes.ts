// Liveness (the process answers) and readiness (the tools DB and every data source answer).
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { DataSourceRegistry } from '../data-sources/registry.js';

const CHECK_TIMEOUT_MS = 2000;

async function ping(pool: pg.Pool): Promise<'ok' | 'unreachable'> {
  const attempt = pool.query('select 1').then(() => 'ok' as const);
  const timeout = new Promise<'unreachable'>((resolve) => setTimeout(() => resolve('unreachable'), CHECK_TIMEOUT_MS).unref());
  return Promise.race([attempt, timeout]).catch(() => 'unreachable' as const);
}

const ReadinessSchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Record(Type.String(), Type.String()),
});

export interface HealthOptions {
  toolsPool: pg.Pool;
  dataSources: DataSourceRegistry;
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
        ...opts.dataSources.pools().map(([name, pool]) => ping(pool).then((status) => [name, status] as const)),
      ]);
      const checks = { ...Object.fromEntries(entries), audit_log: auditLog };
      const ready = entries.every(([, status]) => status === 'ok') && (!opts.production || auditLog === 'append-only');
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  );
}
