// The plain JSON response of POST /api/runs, streamed (issue #17): the same document as before with the
// totals last, an `error` member when the run fails after rows were sent, the byte cap counted on what is
// sent (issue #21 item 7), backpressure from the socket to the cursor, and, for JSON, NDJSON and CSV alike,
// the run's closing audit events committed before the client has the whole response (issue #11 item 4).
import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { createDataSourceRegistry } from '../../server/data-sources/registry.js';
import { connectToolsDb } from '../../server/db/tools-db.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { freePort } from '../support/processes.js';
import { auditOf, newRunId, post, toolsQuery, waitFor } from './support.js';

// A full garbage collection before each look at RSS: what is measured is what the stalled run holds, not
// the warm-up's garbage (a baseline taken before it was collected swung the growth by ±400 MB) nor dead
// batches no collection has freed yet. The flag takes effect for contexts created after it is set.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

const MB = 1024 * 1024;

describe('the streamed JSON response', () => {
  let t: TestApp;
  let editor: SignedIn;

  beforeAll(async () => {
    t = await startTestApp({ MAX_ROWS: '1000000', MAX_RESULT_BYTES: String(1024 * MB) });
    editor = await signIn(t, 'editor');
  });
  afterAll(() => t?.close());

  it('is the same document as before, totals last, and the run is recorded when it arrives (small)', async () => {
    const runId = newRunId();
    const res = await post(t, editor, '/api/runs', {
      dataSource: 'main',
      sql: `select g as n, 'x"y' as s, null::int as nothing from generate_series(1, 3) g`,
      runId,
    });
    // Right after the response, without waiting: the closing event is committed (issue #11 item 4).
    expect((await auditOf(t, runId)).map((e) => e.action)).toEqual(['run.started', 'run.finished']);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = res.json();
    expect(Object.keys(body)).toEqual(['id', 'statement', 'columns', 'rows', 'rowCount', 'truncated', 'durationMs', 'tier']);
    expect(body).toEqual({
      id: runId,
      statement: 'select',
      columns: [
        { name: 'n', type: 'number', dbType: 'int4' },
        { name: 's', type: 'string', dbType: 'text' },
        { name: 'nothing', type: 'number', dbType: 'int4' },
      ],
      rows: [1, 2, 3].map((n) => [n, 'x"y', null]),
      rowCount: 3,
      truncated: false,
      durationMs: expect.any(Number),
      tier: 'standard',
    });
    const empty = (await post(t, editor, '/api/runs', { dataSource: 'main', sql: 'select 1 as one where false' })).json();
    expect(empty).toMatchObject({ columns: [{ name: 'one' }], rows: [], rowCount: 0, truncated: false });
  });

  it('is the same document as before for a large result, batch after batch', async () => {
    const count = 250_000;
    const res = await post(t, editor, '/api/runs', {
      dataSource: 'main',
      sql: `select g, g::text as label, g * 0.5 as half, g::float8 / 4 as quarter, g % 2 = 0 as even
            from generate_series(1, ${count}) g`,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ rowCount: count, truncated: false });
    expect(body.rows).toHaveLength(count);
    for (const g of [1, 2, 1999, 2000, 2001, 12_001, 124_999, count]) {
      expect(body.rows[g - 1]).toEqual([g, String(g), `${Math.floor(g / 2)}.${g % 2 ? 5 : 0}`, g / 4, g % 2 === 0]);
    }
  });

  it('ends with an error member when the query fails after rows were sent, and records the failure', async () => {
    const runId = newRunId();
    const res = await post(t, editor, '/api/runs', {
      dataSource: 'main',
      sql: 'select g, 1 / (g - 5000) as boom from generate_series(1, 10000) g',
      runId,
    });
    expect((await auditOf(t, runId)).map((e) => [e.action, e.error_code])).toEqual([
      ['run.started', null],
      ['run.failed', 'query_error'],
    ]);
    expect(res.statusCode).toBe(200); // the rows had gone out before the error
    const body = res.json(); // still one valid JSON document
    expect(body.rows).toHaveLength(2000); // the first batch
    expect(body.rowCount).toBeUndefined();
    expect(body.error).toMatchObject({
      code: 'query_error',
      pgCode: '22012',
      message: expect.stringMatching(/division by zero/i),
    });
  });

  it('answers an error before the first row as an ordinary HTTP error', async () => {
    const res = await post(t, editor, '/api/runs', { dataSource: 'main', sql: 'select 1 / 0' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'query_error', pgCode: '22012' });
  });

  it('counts the byte cap on the JSON that goes out, escapes included, for JSON and NDJSON', async () => {
    const cap = 1_000_000;
    const toolsDb = connectToolsDb(t.tools.appUrl, { max: 2 });
    const dataSources = createDataSourceRegistry(t.config);
    const capped = await buildApp({
      config: { ...t.config, engine: { ...t.config.engine, maxResultBytes: cap } },
      toolsDb,
      dataSources,
    });
    try {
      // 1,000 bytes per row on the wire, 6,004 as JSON (each control character becomes \u0001).
      for (const [sql, perRow] of [
        ['select repeat(chr(1), 1000) as q from generate_series(1, 2000)', 6005],
        [`select repeat('"', 1000) as q from generate_series(1, 2000)`, 2005],
      ] as const) {
        const json = await capped.inject({
          method: 'POST',
          url: '/api/runs',
          headers: jsonHeaders(editor, t),
          payload: { dataSource: 'main', sql },
        });
        const body = json.json();
        expect(body).toMatchObject({ truncated: true, truncatedBy: 'bytes' });
        const sent = Buffer.byteLength(JSON.stringify(body.rows)) - 2;
        expect(sent).toBeLessThanOrEqual(cap);
        expect(sent + perRow).toBeGreaterThan(cap); // one more row would not have fit
        const ndjson = await capped.inject({
          method: 'POST',
          url: '/api/runs',
          headers: { ...jsonHeaders(editor, t), accept: 'application/x-ndjson' },
          payload: { dataSource: 'main', sql },
        });
        const lines = ndjson.body
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { rows?: unknown[][]; done?: unknown });
        const streamed = lines.flatMap((l) => l.rows ?? []);
        expect(streamed).toEqual(body.rows);
        expect(lines.at(-1)!.done).toMatchObject({ truncated: true, truncatedBy: 'bytes' });
      }
    } finally {
      await capped.close();
      await toolsDb.close();
      await dataSources.close();
    }
  });

  it('stalls the database when the client stops reading, with flat memory', { timeout: 180_000 }, async () => {
    const port = await freePort();
    await t.app.listen({ host: '127.0.0.1', port });
    const rows = 100_000;
    const runId = newRunId();
    // About 1 KB per row: the whole result is ~100 MB, a batch about 1 MB.
    const sql = `select g, repeat('x', 1000) as pad from generate_series(1, ${rows}) g`;
    let received = 0;
    let tail = '';
    let ended = false;
    // A first, smaller run of the same shape read in full, so the baseline holds what any run leaves
    // allocated (pools, parser memory) and the growth below is what the stalled run holds.
    const warmUp = await new Promise<number>((resolve, reject) => {
      const request = http.request(`http://127.0.0.1:${port}/api/runs`, {
        method: 'POST',
        headers: { cookie: editor.cookie, 'content-type': 'application/json', origin: t.config.publicUrl },
      });
      request.on('response', (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length)); // read and dropped
        res.on('end', () => resolve(bytes));
      });
      request.on('error', reject);
      request.end(JSON.stringify({ dataSource: 'main', sql: sql.replace(`${rows}`, '30000') }));
    });
    expect(warmUp).toBeGreaterThan(30_000 * 1000);
    collectGarbage();
    const baseline = process.memoryUsage().rss;
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = http.request(`http://127.0.0.1:${port}/api/runs`, {
        method: 'POST',
        headers: { cookie: editor.cookie, 'content-type': 'application/json', origin: t.config.publicUrl },
      });
      request.on('response', resolve);
      request.on('error', reject);
      request.end(JSON.stringify({ dataSource: 'main', sql, runId }));
    });
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
      tail = (tail + chunk.toString('latin1')).slice(-200);
      response.pause(); // one chunk, then the client stops reading
    });
    response.on('end', () => (ended = true));

    // The run's backend is blocked writing to Porthole (ClientWrite: the JSON document comes through COPY
    // and Porthole stopped reading its socket) and nothing more arrives, over several consecutive looks.
    let last = '';
    let steady = 0;
    await waitFor(
      'the run to stall',
      async () => {
        const state = await backendState(t, runId);
        const look = `${state?.state}|${state?.wait}|${state?.changed}|${received}`;
        steady = state?.wait === 'ClientWrite' && look === last ? steady + 1 : 0;
        last = look;
        return steady >= 3;
      },
      60_000,
    );
    collectGarbage();
    const grown = process.memoryUsage().rss - baseline;
    expect(ended).toBe(false);
    expect(received).toBeLessThan(30 * MB); // of ~100 MB
    expect(grown).toBeLessThan(5 * 2 * MB); // five batch buffers (a batch is ~1 MB of JSON in at most 2 MB): a ceiling, not a timing

    // Reading again resumes the cursor, and the rest arrives.
    response.removeAllListeners('data');
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
      tail = (tail + chunk.toString('latin1')).slice(-200);
    });
    response.resume();
    await new Promise((resolve) => response.once('end', resolve));
    expect(tail).toMatch(new RegExp(`"rowCount":${rows},"truncated":false,"durationMs":\\d+,"tier":"standard"}$`));
    expect(received).toBeGreaterThan(rows * 1000);
    expect((await auditOf(t, runId)).map((e) => e.action)).toEqual(['run.started', 'run.finished']);
  });

  it('commits the closing audit events before the last bytes, for JSON, NDJSON and CSV', { timeout: 120_000 }, async () => {
    const sql = 'select id from notifications order by id limit 5';
    const formats = [
      { url: '/api/runs', accept: 'application/json', closing: ['run.started', 'run.finished'] },
      { url: '/api/runs', accept: 'application/x-ndjson', closing: ['run.started', 'run.finished'] },
      { url: '/api/runs.csv', accept: 'text/csv', closing: ['run.started', 'run.finished', 'run.csv_downloaded'] },
    ];
    for (const format of formats) {
      const runId = newRunId();
      // The query waits behind a table lock, so the audit can be held up after run.started.
      const tableLock = new pg.Client({ connectionString: t.main.adminUrl });
      const auditLock = new pg.Client({ connectionString: t.tools.adminUrl });
      await Promise.all([tableLock.connect(), auditLock.connect()]);
      try {
        await tableLock.query('begin; lock table notifications in access exclusive mode');
        let complete = false;
        const pending = (t.app as FastifyInstance)
          .inject({
            method: 'POST',
            url: format.url,
            headers: { ...jsonHeaders(editor, t), accept: format.accept },
            payload: JSON.stringify({ dataSource: 'main', sql, runId }),
          })
          .then((res) => ((complete = true), res));
        await waitFor('the query to wait for the table', async () => (await backendState(t, runId))?.waiting === 'Lock');
        // Every audit insert now waits for the chain head; then the query may finish.
        await auditLock.query('begin; select 1 from audit_chain_head where id = 1 for update');
        await tableLock.query('commit');
        await waitFor('the closing audit event to wait for the chain head', async () => {
          // From outside the locking transaction: pg_stat_activity is a snapshot per transaction.
          const { rows: waiting } = await toolsQuery(
            t,
            `select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'
             and query like 'insert into "audit_events"%'`,
          );
          return waiting.length > 0;
        });
        expect(complete, format.accept).toBe(false); // the client does not have the whole response yet
        await auditLock.query('commit');
        const res = await pending;
        expect(res.statusCode, res.body).toBe(200);
        expect((await auditOf(t, runId)).map((e) => e.action)).toEqual(format.closing);
        if (format.accept === 'text/csv') expect(res.body).toBe('id\n1\n2\n3\n4\n5\n');
      } finally {
        await tableLock.query('rollback').catch(() => undefined);
        await auditLock.query('rollback').catch(() => undefined);
        await Promise.all([tableLock.end(), auditLock.end()]);
      }
    }
  });
});

/** The run's backend on the main database: its state, when that last changed, and what it waits for. */
async function backendState(t: TestApp, runId: string) {
  const client = new pg.Client({ connectionString: t.main.adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      `select state, state_change::text as changed, wait_event_type as waiting, wait_event as wait from pg_stat_activity
       where query like $1 and pid <> pg_backend_pid()`,
      [`%porthole run:${runId}%`],
    );
    return rows[0] as { state: string; changed: string; waiting: string | null; wait: string | null } | undefined;
  } finally {
    await client.end();
  }
}
