// Housekeeping runs on the one scheduler, not on per-task timers: expired sessions, expired stored
// results and forgotten background runs are deleted, and the runs of dead tasks closed, by recurring
// jobs (once across tasks). Time is pg-boss's test clock; the rows are expired in real time, so only
// the jobs' runs are sped up.
import type { FastifyInstance } from 'fastify';
import { TestClock } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { createDataSourceRegistry, type DataSourceRegistry } from '../../server/data-sources/registry.js';
import { connectToolsDb, type ToolsDb } from '../../server/db/tools-db.js';
import { TEST_SESSION_SECRET } from '../support/app.js';
import {
  adminQuery,
  createMainDatabase,
  createToolsDatabase,
  type TestMainDatabase,
  type TestToolsDatabase,
} from '../support/databases.js';

describe('housekeeping on the scheduler', () => {
  let tools: TestToolsDatabase;
  let main: TestMainDatabase;
  let toolsDb: ToolsDb;
  let dataSources: DataSourceRegistry;
  let app: FastifyInstance;
  const clock = new TestClock(new Date('2030-01-07T10:02:00Z'));

  const count = async (sql: string) => Number((await adminQuery(sql, [], tools.database)).rows[0]!.count);

  beforeAll(async () => {
    [tools, main] = await Promise.all([createToolsDatabase(), createMainDatabase()]);
    // pg-boss's test clock replaces a function in its schema (DDL), so this app runs as the owner role.
    const config = loadConfig({
      NODE_ENV: 'test',
      TOOLS_DATABASE_URL: tools.ownerUrl,
      MAIN_DATABASE_URL: main.readerUrl,
      SESSION_SECRET: TEST_SESSION_SECRET,
      OIDC_ISSUER_URL: 'http://127.0.0.1:1/unused',
      OIDC_CLIENT_ID: 'porthole-test',
      OIDC_CLIENT_SECRET: 'unused-in-this-test',
    });
    toolsDb = connectToolsDb(tools.ownerUrl);
    dataSources = createDataSourceRegistry(config);
    app = await buildApp({ config, toolsDb, dataSources, schedulerClock: clock, instanceName: 'housekeeping-test' });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await toolsDb?.close();
    await dataSources?.close();
    await Promise.all([tools?.drop(), main?.drop()]);
  });

  it('deletes expired sessions, results, background runs; closes dead runs; keeps live ones', { timeout: 180_000 }, async () => {
    const [user] = (
      await adminQuery(
        `insert into users (issuer, subject, email, role) values ('https://idp.test', 'housekeeper', 'h@example.test', 'editor')
         returning id`,
        [],
        tools.database,
      )
    ).rows as Array<{ id: string }>;
    for (const [sid, expiry] of [
      ['expired-session', `now() - interval '1 minute'`],
      ['live-session', `now() + interval '1 hour'`],
    ]) {
      await adminQuery(
        `insert into sessions (sid, user_id, data, expires_at, absolute_expires_at) values ($1, $2, '{}', ${expiry}, now() + interval '1 day')`,
        [sid, user!.id],
        tools.database,
      );
    }
    for (const [runId, expiry] of [
      ['00000000-0000-4000-8000-000000000001', `now() - interval '1 minute'`],
      ['00000000-0000-4000-8000-000000000002', `now() + interval '1 hour'`],
    ]) {
      await adminQuery(
        `insert into results (run_id, owner_id, data_source, columns, row_count, truncated, encoding, body, byte_size, expires_at)
         values ($1, $2, 'main', '[]', 0, false, 'gzip', '\\x00', 1, ${expiry})`,
        [runId, user!.id],
        tools.database,
      );
    }
    for (const [id, expiry] of [
      ['00000000-0000-4000-8000-0000000000a1', `now() - interval '2 days'`],
      ['00000000-0000-4000-8000-0000000000a2', `now() + interval '1 hour'`],
    ]) {
      await adminQuery(
        `insert into background_runs (id, user_id, data_source, sql_preview, status, task_id, deadline_at, finished_at, result_expires_at)
         values ($1, $2, 'main', 'select 1', 'succeeded', 'gone-task', now(), now(), ${expiry})`,
        [id, user!.id],
        tools.database,
      );
    }
    // A run whose task died: its run.started has no end, and its active_runs row is past its deadline.
    const deadRun = '00000000-0000-4000-8000-0000000000d1';
    await app.audit.record({
      action: 'run.started',
      actor: { id: user!.id, email: 'h@example.test' },
      details: { runId: deadRun },
    });
    await adminQuery(
      `insert into active_runs (id, user_id, data_source, sql, format, task_id, expires_at)
       values ($1, $2, 'main', 'select pg_sleep(60)', 'json', 'gone-task', now() - interval '1 minute')`,
      [deadRun, user!.id],
      tools.database,
    );
    const closingsOf = (runId: string) =>
      count(`select count(*) from audit_events where action = 'run.abandoned' and details->>'runId' = '${runId}'`);
    const left = async () => ({
      sessions: await count(`select count(*) from sessions where sid = 'expired-session'`),
      results: await count(`select count(*) from results where expires_at < now()`),
      backgroundRuns: await count(`select count(*) from background_runs where result_expires_at < now() - interval '1 day'`),
      unclosedRuns: 1 - (await closingsOf(deadRun)),
    });
    expect(await left()).toEqual({ sessions: 1, results: 1, backgroundRuns: 1, unclosedRuns: 1 });
    // The longest schedule is half-hourly: step the clock through an hour at most.
    for (let step = 0; step < 720; step++) {
      const now = await left();
      if (now.sessions + now.results + now.backgroundRuns + now.unclosedRuns === 0) break;
      await clock.tick(5_000);
    }
    expect(await left()).toEqual({ sessions: 0, results: 0, backgroundRuns: 0, unclosedRuns: 0 });
    expect(await count(`select count(*) from active_runs where id = '${deadRun}'`)).toBe(0);
    expect(await count(`select count(*) from sessions where sid = 'live-session'`)).toBe(1);
    expect(await count(`select count(*) from results`)).toBe(1);
    expect(await count(`select count(*) from background_runs`)).toBe(1);
  });
});
