// The database going away under a running Porthole (issue #20, THREATS.md 53): PostgreSQL servers of this
// file's own are stopped, started and restarted (fast shutdown, as `pg_ctl stop -m fast`) while the app
// serves. Two apps: `one` keeps its tools DB and its data source on one server (as in the report and in
// demo mode); `split` keeps its tools DB on that server and its data source on another, so either can be
// away while the other answers. Every answer is {error:{code,message}}; unavailability is 503 with
// Retry-After; no run starts without its run.started, and every run.started gets exactly one closing event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, type SignedIn } from '../support/auth.js';
import { adminQuery } from '../support/databases.js';
import { startRestartableCluster, type RestartableCluster } from '../support/restartable-cluster.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../engine/support.js';
import { CLOSINGS, executing, expectErrorShape, request, runEvents, sendRun } from './support.js';

describe('PostgreSQL stopped, started and restarted under a running Porthole', () => {
  /** Holds both apps' tools DBs and the data source of `one`. */
  let shared: RestartableCluster;
  /** The data source of `split`; logs every statement it runs. */
  let source: RestartableCluster;
  let one: TestServer;
  let split: TestServer;
  let oneEditor: SignedIn;
  let splitEditor: SignedIn;

  beforeAll(async () => {
    [shared, source] = await Promise.all([startRestartableCluster(), startRestartableCluster({ logStatements: true })]);
    [one, split] = await Promise.all([
      startTestServer({}, undefined, { servers: { tools: shared.adminUrl, main: shared.adminUrl } }),
      startTestServer({}, undefined, { servers: { tools: shared.adminUrl, main: source.adminUrl } }),
    ]);
    [oneEditor, splitEditor] = await Promise.all([signIn(one, 'editor'), signIn(split, 'editor')]);
    // Serving as before the faults: each source's catalog is read once per task, by its first run.
    for (const [app, who] of [
      [one, oneEditor],
      [split, splitEditor],
    ] as const) {
      expect((await sendRun(app, who, 'select 1').answer).status).toBe(200);
    }
  });
  afterAll(async () => {
    // Both servers are running again by now unless a test failed midway; the apps need them to close.
    for (const cluster of [shared, source]) if (cluster && !cluster.running) await cluster.start();
    await Promise.all([one?.close(), split?.close()]);
    await Promise.all([shared?.destroy(), source?.destroy()]);
  });

  const closingsOf = (events: Array<{ action: string }>) => events.filter((event) => CLOSINGS.includes(event.action));
  /** Rows of these runs left in active_runs (both apps keep their tools DB on `shared`). */
  const activeRows = async (app: TestServer, runs: Array<{ runId: string }>) => {
    const found = await adminQuery(
      'select count(*)::int as n from active_runs where id = any($1::uuid[])',
      [runs.map((run) => run.runId)],
      app.tools.database,
      shared.adminUrl,
    );
    return (found.rows[0] as { n: number }).n;
  };
  const refusedDuringOutage: string[] = [];

  it('answers 503 tools_database_unavailable with Retry-After while PostgreSQL is stopped, and /readyz says so', async () => {
    await shared.stop('fast');
    for (const path of ['/api/runs', '/api/runs.csv']) {
      const sent = sendRun(one, oneEditor, 'select 1', { path });
      refusedDuringOutage.push(sent.runId);
      const answer = await sent.answer;
      expect(answer.status, answer.body).toBe(503);
      expect(answer.headers['retry-after']).toBe('2');
      expectErrorShape(answer.body, 'tools_database_unavailable');
    }
    // A read: the session itself lives in the tools DB (an error in a hook, before any route).
    const list = await request(one, oneEditor, 'GET', '/api/queries');
    expect(list.status).toBe(503);
    expect(list.headers.get('retry-after')).toBe('2');
    expectErrorShape(await list.text(), 'tools_database_unavailable');

    const ready = await request(one, undefined, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    const readiness = (await ready.json()) as { status: string; checks: Record<string, string>; error: { code: string } };
    expect(readiness.status).toBe('not_ready');
    expect(readiness.checks.tools).toBe('unreachable');
    expect(readiness.error.code).toBe('tools_database_unavailable');
  });

  it('recovers as soon as PostgreSQL is back; the runs tried meanwhile never reached the audit log', async () => {
    await shared.start();
    // No pooled connection outlives the outage: the very first run and readiness check after the server
    // accepts connections again succeed (how fast that is, is the soak benchmark's figure, not a test's).
    const [ready, run] = await Promise.all([
      request(one, undefined, 'GET', '/readyz'),
      sendRun(one, oneEditor, 'select 1').answer,
    ]);
    expect(ready.status, await ready.text()).toBe(200);
    expect(run.status, run.body).toBe(200);
    for (const runId of refusedDuringOutage) expect(await runEvents(one, shared.adminUrl, runId)).toEqual([]);
  });

  it('answers a run cut by a restart in our shape, whether its body had started or not, and closes it exactly once', async () => {
    // Four runs in flight when the server restarts: before any row (JSON), after rows went out as a JSON
    // document, as NDJSON lines, and as a CSV download larger than the first chunk.
    const sleepy = sendRun(one, oneEditor, 'select pg_sleep(5)');
    const document = sendRun(
      one,
      oneEditor,
      'select g, pg_sleep(case when g > 2500 then 5 else 0 end)::text as s from generate_series(1, 2600) g',
    );
    const lines = sendRun(
      one,
      oneEditor,
      'select g, pg_sleep(case when g > 150 then 5 else 0 end)::text as s from generate_series(1, 200) g',
      { accept: 'application/x-ndjson' },
    );
    const csv = sendRun(
      one,
      oneEditor,
      "select g, repeat('x', 100) as pad, pg_sleep(case when g = 2000 then 5 else 0 end)::text as s from generate_series(1, 2001) g",
      { path: '/api/runs.csv', accept: 'text/csv' },
    );
    const runs = [sleepy, document, lines, csv];
    await waitFor('every run to be executing', async () => {
      for (const run of runs) if (!(await executing(shared.adminUrl, run.runId))) return false;
      return true;
    });
    await waitFor('the streamed bodies to have started', async () =>
      [document, lines, csv].every((run) => run.received().length > 0),
    );

    await shared.stop('fast');
    await shared.start();
    const [sleepyAnswer, documentAnswer, linesAnswer, csvAnswer] = await Promise.all([
      sleepy.answer,
      document.answer,
      lines.answer,
      csv.answer,
    ]);

    // Before the body: an ordinary HTTP error.
    expect(sleepyAnswer.status, sleepyAnswer.body).toBe(503);
    expect(sleepyAnswer.headers['retry-after']).toBe('2');
    const error = expectErrorShape(sleepyAnswer.body, 'data_source_unavailable');
    expect(error.dataSource).toBe('main');
    expect(error.pgCode).toBe('57P01'); // the server's own code travels beside ours, never as it

    // After the body started: the error member ends the JSON document, an error line ends the NDJSON.
    expect(documentAnswer.status).toBe(200);
    const doc = JSON.parse(documentAnswer.body) as { rows: unknown[]; error: { code: string }; rowCount?: number };
    expect(doc.rows.length).toBeGreaterThan(0);
    expect(doc.error.code).toBe('data_source_unavailable');
    expect(doc.rowCount).toBeUndefined();

    expect(linesAnswer.status).toBe(200);
    const last = linesAnswer.body.trimEnd().split('\n').at(-1)!;
    expectErrorShape(last, 'data_source_unavailable');

    // A CSV download: the rows sent, then one line with the error answer, and the body is cut short.
    expect(csvAnswer.status).toBe(200);
    expect(csvAnswer.complete).toBe(false);
    const csvLines = csvAnswer.body.trimEnd().split('\n');
    expect(csvLines.length).toBeGreaterThan(500);
    expectErrorShape(csvLines.at(-1)!, 'data_source_unavailable');

    for (const run of runs) {
      const events = await waitFor(`run ${run.runId} to be closed`, async () => {
        const found = await runEvents(one, shared.adminUrl, run.runId);
        return closingsOf(found).length > 0 && found;
      });
      expect(events.map((event) => event.action)).toEqual(['run.started', 'run.failed']);
      expect(events[1]!.error_code).toBe('data_source_unavailable');
    }
    // The stale-run purge, told to close anything left open, finds nothing more to close for them.
    const purged = await one.app.runService.purgeStaleRuns({ orphanGraceMs: 0 });
    for (const run of runs) expect(purged).not.toContain(run.runId);
    // Their active_runs rows, which the tools DB refused to delete while away, go once it is back: left
    // in place they would hold the user's cap of concurrent runs until they expire.
    await waitFor('the runs to leave active_runs', async () => (await activeRows(one, runs)) === 0);
  });

  it('takes cancels sent during a restart without crashing, and closes each run once', async () => {
    // `one`: the session itself is in the restarting server, so the cancel may be refused (in our shape).
    const sent = sendRun(one, oneEditor, 'select pg_sleep(5)');
    await waitFor('the run to execute', () => executing(shared.adminUrl, sent.runId));
    await shared.beginStop('fast');
    const cancel = await request(one, oneEditor, 'POST', `/api/runs/${sent.runId}/cancel`, {});
    if (cancel.status !== 200) {
      expect(cancel.status).toBe(503);
      expectErrorShape(await cancel.text(), 'tools_database_unavailable');
    }
    // Whichever came first, the cancel or the shutdown's own end of the query: an answer in our shape.
    const answer = await sent.answer;
    expectErrorShape(answer.body, answer.status === 409 ? 'query_cancelled' : 'data_source_unavailable');
    await shared.stop('fast');
    await shared.start();

    // `split`: the source is shutting down (smart: it refuses new connections, its sessions go on), the
    // tools DB answers; the cancel is taken and the run ends cancelled.
    const onSource = sendRun(split, splitEditor, 'select pg_sleep(5)');
    await waitFor('the run to execute', () => executing(source.adminUrl, onSource.runId));
    await source.beginStop('smart');
    const taken = await request(split, splitEditor, 'POST', `/api/runs/${onSource.runId}/cancel`, {});
    expect(taken.status).toBe(200);
    const cancelled = await onSource.answer;
    expect(cancelled.status, cancelled.body).toBe(409);
    expectErrorShape(cancelled.body, 'query_cancelled');
    await source.stop('fast');
    await source.start();

    await waitFor(
      'the runs to leave active_runs',
      async () => (await activeRows(one, [sent])) + (await activeRows(split, [onSource])) === 0,
    );
    for (const [app, run, expected] of [
      [one, sent, answer.status === 409 ? 'run.cancelled' : 'run.failed'],
      [split, onSource, 'run.cancelled'],
    ] as const) {
      const events = await waitFor('the run to be closed', async () => {
        const found = await runEvents(app, shared.adminUrl, run.runId);
        return closingsOf(found).length > 0 && found;
      });
      expect(events.map((event) => event.action)).toEqual(['run.started', expected]);
      expect((await sendRun(app, app === one ? oneEditor : splitEditor, 'select 1').answer).status).toBe(200);
    }
  });

  it('refuses runs with 503 while the tools DB is down and the data source up: nothing reaches the source', async () => {
    await shared.stop('fast');
    const marker = `never-executed-${crypto.randomUUID()}`;
    for (const path of ['/api/runs', '/api/runs.csv']) {
      const answer = await sendRun(split, splitEditor, `select '${marker}' as marker`, { path }).answer;
      expect(answer.status, answer.body).toBe(503);
      expectErrorShape(answer.body, 'tools_database_unavailable');
    }
    await shared.start();
    // The data source logs every statement it runs: the marker is not among them.
    const check = await sendRun(split, splitEditor, "select 'the source logs this' as marker").answer;
    expect(check.status).toBe(200);
    expect(source.log()).toContain('the source logs this');
    expect(source.log()).not.toContain(marker);
  });

  it('answers 503 data_source_unavailable while only the data source is down, and records the run as failed at once', async () => {
    // Cut mid-query: the tools DB answers, so the run's closing event is written before the client hears.
    const sent = sendRun(split, splitEditor, 'select pg_sleep(5)');
    await waitFor('the run to execute', () => executing(source.adminUrl, sent.runId));
    await source.stop('fast');
    const cut = await sent.answer;
    expect(cut.status, cut.body).toBe(503);
    expect(expectErrorShape(cut.body, 'data_source_unavailable').dataSource).toBe('main');
    const cutEvents = await runEvents(split, shared.adminUrl, sent.runId);
    expect(cutEvents.map((event) => [event.action, event.error_code])).toEqual([
      ['run.started', null],
      ['run.failed', 'data_source_unavailable'],
    ]);

    // Sent while it is down: refused before it starts, and recorded as a failed run.
    const refused = sendRun(split, splitEditor, 'select 1');
    const answer = await refused.answer;
    expect(answer.status, answer.body).toBe(503);
    expect(answer.headers['retry-after']).toBe('2');
    expect(expectErrorShape(answer.body, 'data_source_unavailable').dataSource).toBe('main');
    const events = await runEvents(split, shared.adminUrl, refused.runId);
    expect(events).toEqual([{ action: 'run.failed', error_code: 'data_source_unavailable' }]);

    // What does not need the source keeps working, and readiness names the source.
    expect((await request(split, splitEditor, 'GET', '/api/queries')).status).toBe(200);
    const ready = await request(split, undefined, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    const readiness = (await ready.json()) as { checks: Record<string, string>; error: { code: string; dataSource: string } };
    expect(readiness.checks).toMatchObject({ tools: 'ok', 'source:main': 'unreachable' });
    expect(readiness.error).toMatchObject({ code: 'data_source_unavailable', dataSource: 'main' });

    await source.start();
    await waitFor(
      'a run on the source to succeed',
      async () => (await sendRun(split, splitEditor, 'select 1').answer).status === 200,
    );
  });
});
