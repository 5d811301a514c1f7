// Every error answer is {error:{code,message}} with a stable code, whatever raised it (issue #20): the
// driver, a hook on the way in or out, a run that fails after its body started (JSON, NDJSON, CSV), a
// plugin, the HTTP parser, a server that is closing. A database's own code travels as pgCode, never as
// the code. The faults themselves (databases going away) are in test/faults/.
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.js';
import { DataSourceRegistry } from '../server/data-sources/registry.js';
import { connectToolsDb } from '../server/db/tools-db.js';
import { signIn, type SignedIn } from './support/auth.js';
import { adminQuery } from './support/databases.js';
import { freePort } from './support/processes.js';
import { startTestServer, type TestServer } from './support/server.js';
import { expectErrorShape, request, sendRun } from './faults/support.js';

describe('one error shape, whatever the origin', () => {
  let t: TestServer;
  let editor: SignedIn;
  beforeAll(async () => {
    t = await startTestServer({ AUTH_RATE_LIMIT_PER_MINUTE: '3' });
    editor = await signIn(t, 'editor');
  });
  afterAll(() => t?.close());

  /** As the superuser, on the tools DB: takes a privilege from the serving role for the length of `fn`. */
  async function without<T>(privilege: string, table: string, fn: () => Promise<T>): Promise<T> {
    await adminQuery(`revoke ${privilege} on ${table} from ${t.tools.appRole}`, [], t.tools.database);
    try {
      return await fn();
    } finally {
      await adminQuery(`grant ${privilege} on ${table} to ${t.tools.appRole}`, [], t.tools.database);
    }
  }

  it('answers driver errors with our code and the SQLSTATE beside it', async () => {
    const mistake = await sendRun(t, editor, 'select 1/0').answer;
    expect(mistake.status).toBe(400);
    expect(expectErrorShape(mistake.body, 'query_error').pgCode).toBe('22012');

    // A tools DB error that no feature expected reaches the error handler raw.
    const denied = await without('select', 'queries', () => request(t, editor, 'GET', '/api/queries'));
    expect(denied.status).toBe(500);
    const error = expectErrorShape(await denied.text(), 'internal_error');
    expect(error.pgCode).toBe('42501');
    expect(JSON.stringify(error)).not.toContain('queries'); // what failed is for the log
  });

  it('answers errors raised in hooks, on the way in and on the way out', async () => {
    // On the way in: the session cannot be read.
    const unread = await without('select', 'sessions', () => request(t, editor, 'GET', '/api/me'));
    expect(unread.status).toBe(500);
    expectErrorShape(await unread.text(), 'internal_error');

    // On the way out: the route answered, then the session's save failed (its idle expiry was due a push);
    // the error answer's own save fails again, and the answer is still ours (Fastify's default body used
    // to go out here).
    await adminQuery(`update sessions set data = data - 'touchedAt' where sid = $1`, [editor.sessionId], t.tools.database);
    const unsaved = await without('insert', 'sessions', () => request(t, editor, 'GET', '/api/me'));
    expect(unsaved.status).toBe(500);
    expect(expectErrorShape(await unsaved.text(), 'internal_error').pgCode).toBe('42501');

    const fine = await request(t, editor, 'GET', '/api/me');
    expect(fine.status).toBe(200);
  });

  it('ends a body that had started with the error: a JSON member, an NDJSON line, a CSV line and a cut', async () => {
    const failsLate = (after: number, pad = "''") =>
      `select g, ${pad} as pad, case when g > ${after} then 1/(g - g) else 0 end as boom from generate_series(1, ${after + 100}) g`;

    const document = await sendRun(t, editor, failsLate(2500)).answer;
    expect(document.status).toBe(200);
    const parsed = JSON.parse(document.body) as { rows: unknown[]; error: { code: string; pgCode: string } };
    expect(parsed.rows.length).toBeGreaterThan(0);
    expect(parsed.error).toMatchObject({ code: 'query_error', pgCode: '22012' });

    const lines = await sendRun(t, editor, failsLate(150), { accept: 'application/x-ndjson' }).answer;
    expect(lines.status).toBe(200);
    expect(expectErrorShape(lines.body.trimEnd().split('\n').at(-1)!, 'query_error').pgCode).toBe('22012');

    // More than the first 64 KB chunk goes out before the failure.
    const csv = await sendRun(t, editor, failsLate(2500, "repeat('x', 100)"), { path: '/api/runs.csv', accept: 'text/csv' })
      .answer;
    expect(csv.status).toBe(200);
    expect(csv.complete).toBe(false);
    const csvLines = csv.body.trimEnd().split('\n');
    expect(csvLines.length).toBeGreaterThan(500);
    expect(expectErrorShape(csvLines.at(-1)!, 'query_error').pgCode).toBe('22012');

    // Failing before the first byte, a download is an ordinary HTTP error.
    const early = await sendRun(t, editor, 'select 1/0', { path: '/api/runs.csv', accept: 'text/csv' }).answer;
    expect(early.status).toBe(400);
    expectErrorShape(early.body, 'query_error');
  });

  it("answers plugins' errors and what the HTTP parser refuses", async () => {
    // The sign-in rate limit (@fastify/rate-limit), here 3 a minute.
    const statuses: number[] = [];
    let limited = '';
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${t.origin}/auth/login?returnTo=/`, { redirect: 'manual' });
      statuses.push(res.status);
      if (res.status === 429) limited = await res.text();
    }
    expect(statuses).toContain(429);
    expectErrorShape(limited, 'too_many_requests');

    // A body over the limit.
    const big = await fetch(`${t.origin}/api/runs`, {
      method: 'POST',
      headers: { cookie: editor.cookie, origin: t.origin, 'content-type': 'application/json' },
      body: JSON.stringify({ dataSource: 'main', sql: `select '${'x'.repeat(2 * 1024 * 1024)}'` }),
    });
    expect(big.status).toBe(413);
    expectErrorShape(await big.text(), 'payload_too_large');

    // Not HTTP at all.
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(new URL(t.origin).port), '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString('utf8')));
      socket.on('error', reject);
      socket.on('close', () => resolve(received));
      socket.write('NOT HTTP\r\n\r\n');
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expectErrorShape(raw.slice(raw.indexOf('\r\n\r\n') + 4), 'invalid_request');
  });

  it('answers requests that arrive while the server closes with 503 server_stopping', async () => {
    const toolsDb = connectToolsDb(t.tools.appUrl, { max: 1 });
    let own: FastifyInstance | undefined;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    try {
      own = await buildApp({ config: t.config, toolsDb, dataSources: new DataSourceRegistry([]) });
      // Holds the close in its preClose phase, when the server still accepts connections.
      own.addHook('preClose', () => held);
      const port = await freePort();
      await own.listen({ host: '127.0.0.1', port });
      const closed = own.close();
      const answer = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('2');
      expectErrorShape(await answer.text(), 'server_stopping');
      release();
      await closed;
    } finally {
      release();
      await toolsDb.close();
    }
  });
});
