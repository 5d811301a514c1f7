// The server skeleton through app.inject(): health, readiness, metrics, errors, headers, SPA fallback.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.js';
import { DataSourceRegistry } from '../server/data-sources/registry.js';
import { connectToolsDb } from '../server/db/tools-db.js';
import { AppError } from '../server/lib/errors.js';
import { startTestApp, type TestApp } from './support/app.js';
import { signIn } from './support/auth.js';

const METRICS_TOKEN = 'test-metrics-4f1d9b2c7a8e6035d1c4b7a9e2f0c6d8';

describe('server skeleton', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ METRICS_TOKEN });
  });
  afterAll(() => t.close());

  it('answers /healthz', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz when the tools DB and the main source answer', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { tools: 'ok', 'source:main': 'ok', audit_log: 'append-only' } });
  });

  it('answers 503 on /readyz when a source is unreachable', async () => {
    // Readiness asks the tools DB two things at once (ping, audit-log check): one connection each.
    const toolsDb = connectToolsDb(t.tools.appUrl, { max: 3 });
    const deadPool = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    const app = await buildApp({
      config: t.config,
      toolsDb,
      dataSources: new DataSourceRegistry([{ id: 'main', name: 'Main', pool: deadPool }]),
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('2');
      expect(res.json()).toEqual({
        status: 'not_ready',
        checks: { tools: 'ok', 'source:main': 'unreachable', audit_log: 'append-only' },
        // What is not ready, in the shape of every error answer (issue #20).
        error: {
          code: 'data_source_unavailable',
          dataSource: 'main',
          message: 'The data source "main" is unavailable (restarting or unreachable); try again in a moment.',
          retryAfterSeconds: 2,
        },
      });
    } finally {
      await app.close();
      await toolsDb.close();
      await deadPool.end();
    }
  });

  it('exposes Prometheus metrics with HTTP histograms and pool gauges to the bearer of METRICS_TOKEN', async () => {
    await t.app.inject({ method: 'GET', url: '/healthz' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.body).toMatch(
      /porthole_http_request_duration_seconds_count\{method="GET",route="\/healthz",status_code="200"\} \d+/,
    );
    expect(res.body).toMatch(/porthole_db_pool_connections\{pool="tools",state="total"\} \d+/);
    expect(res.body).toMatch(/porthole_db_pool_connections\{pool="source:main",state="idle"\} \d+/);
    expect(res.body).toMatch(/process_resident_memory_bytes/);
  });

  it('answers 404 on /metrics when no METRICS_TOKEN is set (metrics off)', async () => {
    const toolsDb = connectToolsDb(t.tools.appUrl, { max: 1 });
    const app = await buildApp({
      config: { ...t.config, metricsToken: undefined },
      toolsDb,
      dataSources: new DataSourceRegistry([]),
    });
    try {
      for (const headers of [{}, { authorization: `Bearer ${METRICS_TOKEN}` }, { authorization: 'Bearer undefined' }]) {
        const res = await app.inject({ method: 'GET', url: '/metrics', headers });
        expect({ headers, status: res.statusCode, code: res.json().error.code }).toEqual({
          headers,
          status: 404,
          code: 'not_found',
        });
      }
    } finally {
      await app.close();
      await toolsDb.close();
    }
  });

  it('refuses /metrics without the token, with a wrong one, or another scheme (THREATS.md 52)', async () => {
    const signedIn = await signIn(t, 'admin'); // a session is not the token
    const refused: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer' },
      { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}` },
      { authorization: `Bearer ${METRICS_TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`metrics:${METRICS_TOKEN}`).toString('base64')}` },
      { authorization: METRICS_TOKEN },
      { cookie: signedIn.cookie },
    ];
    for (const headers of refused) {
      const res = await t.app.inject({ method: 'GET', url: '/metrics', headers });
      expect({ headers, status: res.statusCode }).toEqual({ headers, status: 401 });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expect(res.body).not.toMatch(/porthole_|process_/);
    }
  });

  it('sends a strict CSP and other security headers', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' });
    const csp = String(res.headers['content-security-policy']);
    const scriptSrc = csp.split(';').find((d) => d.trim().startsWith('script-src'));
    expect(scriptSrc?.trim()).toMatch(/^script-src 'self' 'nonce-[0-9a-f]{32}'$/);
    const styleNonce = /style-src 'self' 'nonce-([0-9a-f]{32})'/.exec(csp)?.[1];
    expect(styleNonce).toBeDefined();
    expect(res.body).toContain(`<meta name="csp-style-nonce" content="${styleNonce}">`);
    expect(csp).not.toMatch(/unsafe-eval|unsafe-inline/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).toMatch(/object-src 'none'/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });

  it('serves the SPA for page paths (history fallback) with no-cache', async () => {
    for (const url of ['/', '/queries/12-revenue', '/admin/audit?actor=3']) {
      const res = await t.app.inject({ method: 'GET', url, headers: { accept: 'text/html' } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).toMatch(/<div id="app">/);
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('answers JSON 404s under /api (signed in) and /auth, and for missing assets', async () => {
    const { cookie } = await signIn(t, 'viewer');
    for (const url of ['/api/nothing', '/api', '/auth/nothing', '/assets/missing-1234.js']) {
      const res = await t.app.inject({ method: 'GET', url, headers: { cookie } });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: { code: 'not_found', message: expect.stringContaining('No route') } });
    }
    const post = await t.app.inject({
      method: 'POST',
      url: '/queries',
      headers: { cookie, origin: t.config.publicUrl },
      payload: {},
    });
    expect(post.statusCode).toBe(404);
  });

  it('serves hashed assets with a long cache lifetime', async () => {
    const index = await t.app.inject({ method: 'GET', url: '/' });
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(index.body)?.[1];
    expect(asset).toBeDefined();
    const res = await t.app.inject({ method: 'GET', url: asset! });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toMatch(/immutable/);
  });

  it('publishes the OpenAPI document to signed-in users', async () => {
    const { cookie } = await signIn(t, 'viewer');
    expect((await t.app.inject({ method: 'GET', url: '/api/docs' })).statusCode).toBe(401);
    const res = await t.app.inject({ method: 'GET', url: '/api/docs', headers: { cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ openapi: expect.stringMatching(/^3\./), info: { title: 'Porthole API' } });
  });
});

describe('error handler', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers {error:{code,message}} for AppErrors, validation errors and bad JSON, and hides 5xx details', async () => {
    const app = t.app;
    // Routes for this test only, registered on a child context of a fresh app built for it.
    const toolsDb = connectToolsDb(t.tools.appUrl, { max: 1 });
    const own = await buildApp({ config: t.config, toolsDb, dataSources: new DataSourceRegistry([]) });
    own.get('/test/conflict', async () => {
      throw new AppError(409, 'conflict', 'Someone saved first', { currentVersion: 4 });
    });
    own.get('/test/crash', async () => {
      throw new Error('connection string postgres://secret@db leaked');
    });
    own.post(
      '/test/echo',
      { schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } } },
      async (req) => req.body,
    );
    try {
      const conflict = await own.inject({ method: 'GET', url: '/test/conflict' });
      expect(conflict.statusCode).toBe(409);
      expect(conflict.json()).toEqual({ error: { code: 'conflict', message: 'Someone saved first', currentVersion: 4 } });

      const crash = await own.inject({ method: 'GET', url: '/test/crash' });
      expect(crash.statusCode).toBe(500);
      expect(crash.json().error.code).toBe('internal_error');
      expect(crash.body).not.toMatch(/secret|postgres:/);

      const invalid = await own.inject({ method: 'POST', url: '/test/echo', payload: { n: 'x' } });
      expect(invalid.statusCode).toBe(400);
      expect(invalid.json().error.code).toBe('invalid_request');

      const badJson = await own.inject({
        method: 'POST',
        url: '/test/echo',
        headers: { 'content-type': 'application/json' },
        payload: '{"n":',
      });
      expect(badJson.statusCode).toBe(400);
      expect(badJson.json().error.code).toBe('invalid_json');

      const media = await own.inject({
        method: 'POST',
        url: '/test/echo',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'n=1',
      });
      expect(media.statusCode).toBe(415);
      expect(media.json().error.code).toBe('unsupported_media_type');
    } finally {
      await own.close();
      await toolsDb.close();
    }
    expect(app).toBeDefined();
  });
});
