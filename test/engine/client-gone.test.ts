// A client that goes away (Cancel, a closed tab, an aborted fetch) is an everyday event, not a server
// error (issue #18, defect 7): whatever the stage, nothing is logged at error level, an info line says
// what happened, and the run is recorded as cancelled.
import http from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { auditOf, backendsOf, waitFor } from './support.js';

interface LogLine {
  level: number;
  msg: string;
  runId?: string;
  reqId?: string;
  err?: { message?: string };
  req?: { remotePort?: number };
}

/** Fastify's own line for a body stream cut short, or ours for an error after the client left. */
const CLIENT_GONE = /^(client went away before the response was complete|stream closed prematurely)$/;

describe('a client going away', () => {
  let t: TestServer;
  let editor: SignedIn;
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.trim()) lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });

  beforeAll(async () => {
    t = await startTestServer({}, undefined, { logger: { level: 'debug', stream: destination } });
    editor = await signIn(t, 'editor');
  });
  afterAll(() => t.close());

  /** Sends a run and destroys the connection once `ready` says so; resolves with the run id. */
  async function abandon(
    path: string,
    accept: string,
    sql: string,
    ready: (runId: string, received: string) => Promise<boolean>,
  ) {
    const runId = crypto.randomUUID();
    const body = JSON.stringify({ dataSource: 'main', sql, runId });
    const request = http.request(`${t.origin}${path}`, { method: 'POST', headers: { ...jsonHeaders(editor, t), accept } });
    request.on('error', () => undefined);
    let localPort: number | undefined;
    request.on('socket', (socket) => socket.on('connect', () => (localPort = socket.localPort)));
    let received = '';
    request.on('response', (response) => {
      response.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      response.on('error', () => undefined);
    });
    request.end(body);
    await waitFor('the moment to go away', async () => ready(runId, received), 30_000);
    request.destroy();
    const reqId = lines.find((l) => l.msg === 'incoming request' && l.req?.remotePort === localPort)?.reqId;
    return { runId, reqId };
  }

  const running = async (runId: string) => (await backendsOf(t, runId)).some((b) => b.state === 'active');
  // The first batch (100 rows) reaches the page; the next one waits on the sleep.
  const slow = 'select g, pg_sleep(case when g > 100 then 60 else 0 end)::text from generate_series(1, 200) g';

  const cases: Array<[string, string, string, string, (runId: string, received: string) => Promise<boolean>]> = [
    ['JSON, while the query runs', '/api/runs', 'application/json', 'select pg_sleep(60)', (id) => running(id)],
    ['row stream, before the columns', '/api/runs', 'application/x-ndjson', 'select pg_sleep(60)', (id) => running(id)],
    [
      'row stream, after the first rows',
      '/api/runs',
      'application/x-ndjson',
      slow,
      async (id, received) => received.includes('"rows"') && running(id),
    ],
    ['CSV, while the query runs', '/api/runs.csv', 'text/csv', 'select pg_sleep(60)', (id) => running(id)],
  ];

  for (const [stage, path, accept, sql, ready] of cases) {
    it(`logs nothing at error level: ${stage}`, async () => {
      const from = lines.length;
      const { runId, reqId } = await abandon(path, accept, sql, ready);
      expect(reqId).toBeDefined();
      const events = await waitFor('the run to be recorded as cancelled', async () => {
        const found = await auditOf(t, runId);
        return found.some((e) => e.action === 'run.cancelled') && found;
      });
      expect(events.map((e) => e.action)).toEqual(['run.started', 'run.cancelled']);
      expect(events[1]!.details.reason).toBe('disconnect');
      // The request's last line: how it ended (an error before the fix, an info line after it).
      const last = await waitFor('the request to log how it ended', async () =>
        lines.find((l) => l.reqId === reqId && (l.level >= 50 || CLIENT_GONE.test(l.msg))),
      );
      const mine = lines.slice(from).filter((l) => l.reqId === reqId || l.runId === runId);
      expect(mine.filter((l) => l.level >= 50).map((l) => `${l.msg}: ${l.err?.message ?? ''}`)).toEqual([]);
      expect(last.level).toBe(30);
      expect(mine.some((l) => l.level === 30 && l.runId === runId && l.msg === 'run cancelled: the client went away')).toBe(true);
    });
  }
});
