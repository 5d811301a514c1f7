// Issue "production hardening", item 4 (schedule half): the scheduler anchors the chain's head every
// hour and verifies the whole chain every day, once across tasks; a superuser's edit is caught within
// one (sped-up) daily cycle and shows as system.audit_broken, the admins' integrity status and the
// porthole_audit_chain_ok metric. Time is pg-boss's test clock; the jobs run through the real scheduler.
import type { FastifyInstance } from 'fastify';
import { TestClock } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { createDataSourceRegistry, type DataSourceRegistry } from '../../server/data-sources/registry.js';
import { connectToolsDb, type ToolsDb } from '../../server/db/tools-db.js';
import { TEST_SESSION_SECRET } from '../support/app.js';
import { signIn } from '../support/auth.js';
import {
  adminQuery,
  createMainDatabase,
  createToolsDatabase,
  type TestMainDatabase,
  type TestToolsDatabase,
} from '../support/databases.js';

const METRICS_TOKEN = 'metrics-test-7c1e9a4b2d6f8e0a3c5b7d9f1e2a4c6b';

describe('audit integrity on the scheduler', () => {
  let tools: TestToolsDatabase;
  let main: TestMainDatabase;
  let toolsDb: ToolsDb;
  let dataSources: DataSourceRegistry;
  let app: FastifyInstance;
  let config: ReturnType<typeof loadConfig>;
  const clock = new TestClock(new Date('2030-01-07T03:06:00Z'));

  const rowsOf = async (sql: string) => (await adminQuery(sql, [], tools.database)).rows;
  /** Moves the test clock in small steps until `done` holds (the scheduler's cron pass and poll run in between). */
  async function tickUntil(done: () => Promise<boolean>, what: string): Promise<void> {
    for (let step = 0; step < 400; step++) {
      if (await done()) return;
      await clock.tick(5_000);
    }
    throw new Error(`the scheduler did not ${what}`);
  }

  beforeAll(async () => {
    [tools, main] = await Promise.all([createToolsDatabase(), createMainDatabase()]);
    // pg-boss's test clock replaces a function in its schema (DDL), so this app runs as the owner role.
    config = loadConfig({
      NODE_ENV: 'test',
      TOOLS_DATABASE_URL: tools.ownerUrl,
      MAIN_DATABASE_URL: main.readerUrl,
      SESSION_SECRET: TEST_SESSION_SECRET,
      METRICS_TOKEN,
      OIDC_ISSUER_URL: 'http://127.0.0.1:1/unused',
      OIDC_CLIENT_ID: 'porthole-test',
      OIDC_CLIENT_SECRET: 'unused-in-this-test',
    });
    toolsDb = connectToolsDb(tools.ownerUrl);
    dataSources = createDataSourceRegistry(config);
    app = await buildApp({ config, toolsDb, dataSources, schedulerClock: clock, instanceName: 'audit-schedule-test' });
    await app.ready();
    for (let i = 0; i < 5; i++) await app.audit.record({ action: 'system.started', details: { i } });
  });
  afterAll(async () => {
    await app?.close();
    await toolsDb?.close();
    await dataSources?.close();
    await Promise.all([tools?.drop(), main?.drop()]);
  });

  it('anchors the head every hour (in the tools DB without a bucket)', { timeout: 180_000 }, async () => {
    await tickUntil(async () => (await rowsOf(`select 1 from audit_anchors`)).length > 0, 'write the hourly anchor');
    const [anchor] = await rowsOf(`select seq::text, destination from audit_anchors order by id`);
    expect(anchor).toMatchObject({ destination: 'tools-db' });
    expect(Number(anchor!.seq)).toBeGreaterThanOrEqual(5);
  });

  it(
    "catches a superuser's edit at the next daily verification: event, integrity status and metric",
    { timeout: 180_000 },
    async () => {
      const admin = await signIn({ app, config, tools, main, close: async () => undefined }, 'admin');
      const status = async () =>
        (await app.inject({ method: 'GET', url: '/api/audit/integrity', headers: { cookie: admin.cookie } })).json();
      expect(await status()).toEqual({ ok: true });
      await rowsOf(
        `begin; set local session_replication_role = replica; update audit_events set sql = 'tampered' where seq = 2; commit`,
      );
      await clock.setTime(new Date('2030-01-07T03:16:30Z').getTime());
      await tickUntil(
        async () => (await rowsOf(`select 1 from audit_events where action = 'system.audit_broken'`)).length > 0,
        'run the daily verification',
      );
      const [broken] = await rowsOf(`select details from audit_events where action = 'system.audit_broken'`);
      expect(broken!.details).toMatchObject({ firstBadSeq: '2' });
      expect(await status()).toMatchObject({ ok: false, broken: { firstBadSeq: '2' } });
      const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(metrics.body).toMatch(/^porthole_audit_chain_ok 0$/m);
    },
  );
});
