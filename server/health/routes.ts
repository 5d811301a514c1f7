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

export async function healthRoutes(app: FastifyInstance, opts: { toolsPool: pg.Pool; dataSources: DataSourceRegistry }) {
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
      const entries = await Promise.all([
        ping(opts.toolsPool).then((status) => ['tools', status] as const),
        ...opts.dataSources.pools().map(([name, pool]) => ping(pool).then((status) => [name, status] as const)),
      ]);
      const checks = Object.fromEntries(entries);
      const ready = entries.every(([, status]) => status === 'ok');
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  );
}
