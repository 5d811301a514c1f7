// Prometheus metrics: HTTP latency by route and the connection pools' state. A registry per app so
// several apps in one test process do not collide.
//
// Route latencies and pool sizes are for operators, not for whoever reaches the server (THREATS.md 52):
// GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`, and answers 404 when no token is set
// (metrics off). The load balancer refuses /metrics as well (deploy/lib/service.ts).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { AppError } from '../lib/errors.js';

export interface MetricsOptions {
  /** Pools to report, by name (e.g. "tools", "source:main"). */
  pools: () => Record<string, pg.Pool>;
  /** METRICS_TOKEN; undefined turns the endpoint off. */
  token?: string;
  /** 1 while the audit chain is not known to be broken, 0 once the scheduled verification found it broken. */
  auditChainOk?: () => Promise<number>;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Compares the presented bearer token in constant time (digests make the lengths equal too). */
function bearerMatches(request: FastifyRequest, expected: Buffer): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), expected);
}

export const metricsPlugin = fp(async function metrics(app: FastifyInstance, opts: MetricsOptions) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const httpDuration = new Histogram({
    name: 'porthole_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: 'porthole_db_pool_connections',
    help: 'Database pool connections by pool and state (total, idle, waiting clients)',
    labelNames: ['pool', 'state'] as const,
    registers: [registry],
    collect() {
      for (const [name, pool] of Object.entries(opts.pools())) {
        this.set({ pool: name, state: 'total' }, pool.totalCount);
        this.set({ pool: name, state: 'idle' }, pool.idleCount);
        this.set({ pool: name, state: 'waiting' }, pool.waitingCount);
      }
    },
  });

  const auditChainOk = opts.auditChainOk;
  if (auditChainOk) {
    new Gauge({
      name: 'porthole_audit_chain_ok',
      help: '1 unless the scheduled full verification found the audit chain broken (then 0, until a full verification passes)',
      registers: [registry],
      async collect() {
        this.set(await auditChainOk());
      },
    });
  }

  app.addHook('onResponse', async (request, reply) => {
    httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  const expected = opts.token === undefined ? undefined : digest(opts.token);
  app.get('/metrics', { logLevel: 'warn', schema: { hide: true } }, async (request, reply) => {
    if (!expected) throw new AppError(404, 'not_found', 'Not found.');
    if (!bearerMatches(request, expected)) {
      reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw new AppError(401, 'unauthenticated', 'Metrics need Authorization: Bearer <METRICS_TOKEN>.');
    }
    reply.type(registry.contentType);
    return registry.metrics();
  });
});
