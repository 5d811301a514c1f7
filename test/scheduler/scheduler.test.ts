// The one scheduler: installed by the owner role with the serving role limited to DML; two app instances
// on one tools DB run each slot of a one-minute schedule once over several (sped-up) minutes, both a bare
// recurring job and a real check (cron `* * * * *`, claimed by the checks.dispatch job and run through the
// engine); a task killed mid-run has its job finished by another.
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { TestClock } from 'pg-boss';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import type { SessionUser } from '../../server/auth/guards.js';
import { upsertUser } from '../../server/auth/users.repository.js';
import { RUN_QUEUE } from '../../server/checks/service.js';
import { loadConfig } from '../../server/config.js';
import { createDataSourceRegistry } from '../../server/data-sources/registry.js';
import { connectToolsDb, type ToolsDb } from '../../server/db/tools-db.js';
import { Scheduler } from '../../server/scheduler/scheduler.js';
import { TEST_SESSION_SECRET } from '../support/app.js';
import {
  adminQuery,
  createMainDatabase,
  createToolsDatabase,
  type TestMainDatabase,
  type TestToolsDatabase,
} from '../support/databases.js';
import { startProcess, TSX_LOADER, type RunningProcess } from '../support/processes.js';
import { waitFor } from '../engine/support.js';

// One tools DB per block: the sped-up clock leaves pg-boss's last cron pass stamped minutes ahead of
// the real time the killed-task block runs on.
let tools: TestToolsDatabase;
let main: TestMainDatabase;

async function freshToolsDatabase(): Promise<TestToolsDatabase> {
  const created = await createToolsDatabase();
  await adminQuery(
    `create table scheduler_test_runs (id bigserial primary key, slot timestamptz not null, instance text not null,
       attempt int not null, event text not null default 'finished', at timestamptz not null default clock_timestamp());
     grant select, insert on scheduler_test_runs to ${pg.escapeIdentifier(created.appRole)}, ${pg.escapeIdentifier(created.ownerRole)};
     grant usage on sequence scheduler_test_runs_id_seq to ${pg.escapeIdentifier(created.appRole)}, ${pg.escapeIdentifier(created.ownerRole)};`,
    [],
    created.database,
  );
  return created;
}

const dropped: Array<{ drop(): Promise<void> }> = [];
beforeAll(async () => {
  main = await createMainDatabase({ notifications: 1_000 });
  dropped.push(main);
});
afterAll(async () => {
  await Promise.all(dropped.map((db) => db.drop()));
});

async function useFreshToolsDatabase(): Promise<void> {
  tools = await freshToolsDatabase();
  dropped.push(tools);
}

const runsOf = async (where = 'true', values: unknown[] = []) =>
  (
    await adminQuery(
      `select slot, instance, attempt, event from scheduler_test_runs where ${where} order by id`,
      values,
      tools.database,
    )
  ).rows as Array<{ slot: Date; instance: string; attempt: number; event: string }>;

describe('installation and grants', () => {
  beforeAll(useFreshToolsDatabase);
  it('keeps pg-boss in its own schema owned by the owner role; the serving role has DML, no DDL', async () => {
    const { rows } = await adminQuery(
      `select pg_get_userbyid(nspowner) as owner,
              has_schema_privilege($1, 'pgboss', 'usage') as usage,
              has_schema_privilege($1, 'pgboss', 'create') as "create",
              has_table_privilege($1, 'pgboss.job', 'insert, update, delete') as dml,
              has_table_privilege($1, 'pgboss.job', 'truncate') as "truncate",
              has_function_privilege($1, 'pgboss.create_queue(text, jsonb)', 'execute') as execute
         from pg_namespace where nspname = 'pgboss'`,
      [tools.appRole],
      tools.database,
    );
    expect(rows[0]).toEqual({ owner: tools.ownerRole, usage: true, create: false, dml: true, truncate: false, execute: true });
  });

  it('runs a queued job as the serving role, and a disabled task queues it without running it', async () => {
    const ran: string[] = [];
    const make = (enabled: boolean) => {
      const scheduler = new Scheduler({ connectionString: tools.appUrl, enabled, pollingIntervalSeconds: 0.5 });
      scheduler.defineQueue<{ note: string }>({
        name: 'scheduler-test.queue',
        run: async (job) => void ran.push(`${enabled ? 'worker' : 'web-only'}:${job.data.note}`),
      });
      return scheduler;
    };
    const webOnly = make(false);
    await webOnly.start();
    try {
      expect(await webOnly.send('scheduler-test.queue', { note: 'hello' })).toBeTruthy();
      // Nothing runs it while only the web-only task is up.
      const { rows } = await adminQuery(`select state from pgboss.job where name = 'scheduler-test.queue'`, [], tools.database);
      expect(rows).toEqual([{ state: 'created' }]);
      const worker = make(true);
      await worker.start();
      try {
        await waitFor('the worker task to run the job', async () => ran.length > 0);
        expect(ran).toEqual(['worker:hello']);
      } finally {
        await worker.stop();
      }
    } finally {
      await webOnly.stop();
    }
  });
});

describe('exactly once across two app instances', () => {
  const MINUTES = 10;
  const apps: FastifyInstance[] = [];
  const pools: ToolsDb[] = [];
  let clock: TestClock;
  beforeAll(useFreshToolsDatabase);

  async function appInstance(name: string): Promise<FastifyInstance> {
    // The sped-up clock replaces pg-boss's job_now() in the schema, which is DDL: this test runs the
    // tasks as the owner role (demo mode's single-role setup). The grants test above covers the
    // serving role, and the killed-task test below runs as it.
    const config = loadConfig({
      NODE_ENV: 'test',
      TOOLS_DATABASE_URL: tools.ownerUrl,
      MAIN_DATABASE_URL: main.readerUrl,
      SESSION_SECRET: TEST_SESSION_SECRET,
      OIDC_ISSUER_URL: 'http://127.0.0.1:1/unused',
      OIDC_CLIENT_ID: 'porthole-test',
      OIDC_CLIENT_SECRET: 'unused-in-this-test',
    });
    const toolsDb = connectToolsDb(tools.ownerUrl);
    pools.push(toolsDb);
    const app = await buildApp({
      config,
      toolsDb,
      dataSources: createDataSourceRegistry(config),
      schedulerClock: clock,
      instanceName: name,
    });
    app.scheduler.defineRecurring({
      name: 'scheduler-test.every-minute',
      cron: '* * * * *',
      async run(slot, job) {
        await toolsDb.pool.query(`insert into scheduler_test_runs (slot, instance, attempt) values ($1, $2, $3)`, [
          slot,
          name,
          job.attempt,
        ]);
      },
    });
    await app.ready();
    apps.push(app);
    return app;
  }

  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const pool of pools) await pool.close();
  });

  it(`runs each slot of a one-minute schedule once over ${MINUTES} minutes`, { timeout: 300_000 }, async () => {
    const start = new Date('2030-01-07T09:00:10Z');
    clock = new TestClock(start);
    const taskA = await appInstance('task-a');
    await appInstance('task-b');
    const firstSlot = new Date('2030-01-07T09:00:00Z').getTime();
    const expectedSlots = Array.from({ length: MINUTES + 1 }, (_, i) => new Date(firstSlot + i * 60_000).toISOString());

    // A check due every minute from the first slot on, made the way the API makes one.
    const row = await upsertUser(taskA.toolsDb, {
      issuer: 'https://idp.test',
      subject: 'check-owner',
      email: 'owner@example.com',
      name: 'Check owner',
      groups: [],
      role: 'editor',
    });
    const owner: SessionUser = { id: row.id, email: row.email, name: row.name, role: row.role, groups: row.groups };
    const query = await taskA.queries.create(owner, {
      name: 'Every minute',
      description: '',
      tags: [],
      dataSource: 'main',
      sql: 'select count(*)::int as n from notifications',
      variables: [],
      chart: null,
    });
    const check = await taskA.checks.create(owner, {
      queryId: query.id,
      name: 'Every minute',
      schedule: { cron: '* * * * *', timeZone: 'UTC' },
      condition: { kind: 'rows' },
    });
    await adminQuery(`update checks set next_run_at = $2 where id = $1`, [check.id, new Date(firstSlot)], tools.database);

    // Time moves only here, five seconds at a time; between steps the test waits for nothing but the
    // clock's own settling, so each slot is claimed by whichever task's cron pass and poll come first.
    const end = start.getTime() + MINUTES * 60_000;
    while (clock.now() < end) await clock.tick(5_000);
    // Then until every slot's job has been run and nothing is left queued or active.
    for (let extra = 0; extra < 60; extra++) {
      const { rows } = await adminQuery(
        `select count(*)::int as open from pgboss.job where name = any($1) and state in ('created', 'retry', 'active')`,
        [['scheduler-test.every-minute', 'checks.dispatch', RUN_QUEUE]],
        tools.database,
      );
      const done = await runsOf();
      const checkRuns = await adminQuery(
        `select count(*)::int as n from check_runs where check_id = $1 and finished_at is not null`,
        [check.id],
        tools.database,
      );
      if (rows[0].open === 0 && done.length >= expectedSlots.length && checkRuns.rows[0].n >= expectedSlots.length) break;
      await clock.tick(1_000);
    }

    const runs = await runsOf();
    const slots = runs.map((run) => run.slot.toISOString());
    const perSlot = new Map<string, number>();
    for (const slot of slots) perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);
    const duplicates = [...perSlot.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
    const perTask = Object.fromEntries(
      ['task-a', 'task-b'].map((task) => [task, runs.filter((r) => r.instance === task).length]),
    );
    process.stdout.write(
      `exactly-once: ${expectedSlots.length} slots, ${runs.length} runs, ${duplicates} duplicates (task-a ${perTask['task-a']}, task-b ${perTask['task-b']})\n`,
    );
    expect([...perSlot.keys()].sort()).toEqual(expectedSlots);
    expect(duplicates).toBe(0);
    expect(runs.every((run) => run.attempt === 0)).toBe(true);

    // The check: one finished run per slot, each through the engine (its run.finished in the audit log).
    const checkRuns = (
      await adminQuery(
        `select r.slot, r.state, r.engine_run_id, (select count(*)::int from audit_events a
                  where a.action = 'run.finished' and a.details->>'runId' = r.engine_run_id::text) as finished_events
           from check_runs r where r.check_id = $1 order by r.slot`,
        [check.id],
        tools.database,
      )
    ).rows as Array<{ slot: Date; state: string; engine_run_id: string | null; finished_events: number }>;
    const checkSlots = checkRuns.map((run) => run.slot.toISOString());
    const checkDuplicates = checkSlots.length - new Set(checkSlots).size;
    const engineRuns = checkRuns.filter((run) => run.engine_run_id !== null && run.finished_events === 1).length;
    process.stdout.write(
      `exactly-once (a check, * * * * *): ${expectedSlots.length} slots, ${checkRuns.length} check runs, ${checkDuplicates} duplicates, ${engineRuns} engine runs\n`,
    );
    expect(checkSlots).toEqual(expectedSlots);
    expect(checkDuplicates).toBe(0);
    expect(checkRuns.every((run) => run.state === 'failing')).toBe(true);
    expect(engineRuns).toBe(expectedSlots.length);
  });
});

describe('a task killed mid-run', () => {
  const processes: RunningProcess[] = [];
  beforeAll(useFreshToolsDatabase);
  afterAll(() => {
    for (const proc of processes) proc.signalGroup('SIGKILL');
  });

  const startTask = (instance: string, hang: boolean) => {
    const proc = startProcess(process.execPath, ['--import', TSX_LOADER, path.resolve('test/fixtures/scheduler/instance.ts')], {
      cwd: process.cwd(),
      env: { ...process.env, TOOLS_DATABASE_URL: tools.appUrl, INSTANCE: instance, HANG: hang ? '1' : '0' },
    });
    processes.push(proc);
    return proc;
  };

  it('has its slot finished by another task, once', { timeout: 240_000 }, async () => {
    // Task A (the serving role, real clock) takes the next minute's slot and dies holding it.
    const taskA = startTask('task-a', true);
    const started = await waitFor(
      'task A to start a slot',
      async () => (await runsOf(`instance = 'task-a' and event = 'started'`))[0],
      120_000,
    ).catch((error: Error) => Promise.reject(new Error(`${error.message}:\n${taskA.output()}`)));
    taskA.signalGroup('SIGKILL');
    await taskA.exited;

    // Task B starts afterwards, so only the heartbeat lapse can hand it A's job.
    const taskB = startTask('task-b', false);
    const finished = await waitFor(
      "task B to finish task A's slot",
      async () => (await runsOf(`event = 'finished' and slot = $1`, [started.slot]))[0],
      120_000,
    ).catch((error: Error) => Promise.reject(new Error(`${error.message}:\n${taskB.output()}`)));
    expect(finished).toMatchObject({ instance: 'task-b', attempt: 1 });
    taskB.signalGroup('SIGTERM');
    await taskB.exited;
    const forSlot = await runsOf(`slot = $1`, [started.slot]);
    expect(forSlot.map((run) => `${run.instance}:${run.event}:${run.attempt}`)).toEqual([
      'task-a:started:0',
      'task-b:started:1',
      'task-b:finished:1',
    ]);
  });
});
