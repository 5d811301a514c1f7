// POST /api/runs with Accept: application/x-ndjson (issue #6, "rows arriving for large results"): the same
// rows as the JSON form, in batches, with the totals at the end and errors as they happen.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { auditOf, rows } from './support.js';

type Line = {
  columns?: Array<{ name: string; type: string }>;
  rows?: unknown[][];
  done?: Record<string, unknown>;
  error?: { code: string };
};

describe('rows streamed as NDJSON', () => {
  let t: TestApp;
  let editor: SignedIn;
  beforeAll(async () => {
    t = await startTestApp({ MAX_ROWS: '3000' });
    editor = await signIn(t, 'editor');
  });
  afterAll(() => t.close());

  async function stream(sql: string, runId = randomUUID()) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/runs',
      headers: { ...jsonHeaders(editor, t), accept: 'application/x-ndjson' },
      payload: JSON.stringify({ dataSource: 'main', sql, runId }),
    });
    const lines = res.body.trim()
      ? (res.body
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)) as Line[])
      : [];
    return { res, lines, runId };
  }

  it('sends the columns, then batches of rows, then the totals; the rows equal the JSON answer', async () => {
    const sql = 'select g as n, g::text as label, g::numeric / 7 as frac from generate_series(1, 2500) g';
    const { res, lines, runId } = await stream(sql);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(lines[0]).toEqual({
      columns: [
        expect.objectContaining({ name: 'n' }),
        expect.objectContaining({ name: 'label' }),
        expect.objectContaining({ name: 'frac' }),
      ],
    });
    const batches = lines.filter((l) => l.rows).map((l) => l.rows!.length);
    expect(batches).toEqual([100, 1000, 1000, 400]);
    expect(lines.at(-1)).toEqual({
      done: expect.objectContaining({ id: runId, statement: 'select', rowCount: 2500, truncated: false }),
    });
    const streamed = lines.flatMap((l) => l.rows ?? []);
    expect(streamed).toEqual((await rows(t, editor, sql)).rows);
    expect((await auditOf(t, runId)).map((e) => [e.action, e.row_count])).toEqual([
      ['run.started', null],
      ['run.finished', '2500'],
    ]);
  });

  it('stops at the row cap and says so', async () => {
    const { lines } = await stream('select g from generate_series(1, 5000) g');
    expect(lines.flatMap((l) => l.rows ?? [])).toHaveLength(3000);
    expect(lines.at(-1)!.done).toMatchObject({ rowCount: 3000, truncated: true, truncatedBy: 'rows' });
  });

  it('answers an error before any row as an ordinary HTTP error', async () => {
    const { res } = await stream('selec 1');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('syntax_error');
  });

  it('ends with an error line when the query fails after rows were sent', async () => {
    const { res, lines, runId } = await stream('select 1 / (g - 150) from generate_series(1, 300) g');
    expect(res.statusCode).toBe(200);
    expect(lines.filter((l) => l.rows).map((l) => l.rows!.length)).toEqual([100]);
    expect(lines.at(-1)).toEqual({
      error: expect.objectContaining({
        code: expect.any(String),
        message: expect.stringMatching(/division by zero/i),
        pgCode: '22012',
      }),
    });
    expect((await auditOf(t, runId)).map((e) => e.action)).toEqual(['run.started', 'run.failed']);
  });
});
