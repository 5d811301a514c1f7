// THREATS.md 49-50 (issue 21 items 6 and 8): error text, SQL and parameters that reach the client or the
// audit log are bounded in size, with the cut marked; deeply nested or oversized params are refused with a
// 400 (never a stack overflow or a 500), and the refusal is audited like any refused run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { auditOf, newRunId, rows } from './support.js';

describe('bounded error text and params', () => {
  let t: TestApp;
  let editor: SignedIn;
  let viewer: SignedIn;

  beforeAll(async () => {
    t = await startTestApp();
    [editor, viewer] = await Promise.all([signIn(t, 'editor'), signIn(t, 'viewer')]);
  });
  afterAll(() => t?.close());

  /** Posts a raw JSON text (params too deep for JSON.stringify's callers to build comfortably). */
  const postRaw = (who: SignedIn, payload: string) =>
    t.app.inject({ method: 'POST', url: '/api/runs', headers: jsonHeaders(who, t), payload });

  it('cuts a multi-megabyte error to a few KB in the response and the audit log (THREATS 49)', async () => {
    const runId = newRunId();
    const res = await postRaw(editor, JSON.stringify({ dataSource: 'main', sql: "select repeat('x', 20000000)::int", runId }));
    expect(res.statusCode).toBe(400);
    expect(res.body.length).toBeLessThan(8_000);
    const { error } = res.json() as { error: { code: string; message: string } };
    expect(error.code).toBe('query_error');
    expect(error.message).toMatch(/^Invalid input syntax for type integer: "x+… \[cut: 19,99\d,\d{3} bytes\]$/);
    const failed = (await auditOf(t, runId)).find((e) => e.action === 'run.failed')!;
    expect(String(failed.details.message).length).toBeLessThan(4_200);
    expect(failed.details.message).toMatch(/\[cut: /);
  });

  it('cuts a huge DETAIL too (THREATS 49)', async () => {
    const res = await postRaw(
      editor,
      JSON.stringify({ dataSource: 'main', sql: "select ('{' || repeat('y', 3000000) || '}')::json" }),
    );
    expect(res.statusCode).toBe(400);
    const { error } = res.json() as { error: { detail: string } };
    expect(error.detail).toMatch(/^Token "y+… \[cut: 2,99\d,\d{3} bytes\]$/);
    expect(res.body.length).toBeLessThan(12_000);
  });

  it('refuses deeply nested params with a 400, and audits the refusal (THREATS 50)', async () => {
    const depth = 100_000;
    for (const [who, nested] of [
      [editor, `${'['.repeat(depth)}${']'.repeat(depth)}`],
      [viewer, `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`],
      [editor, '[[["a", "b"], ["c", "d"]], [["e", "f"], ["g", "h"]]]'],
    ] as const) {
      const runId = newRunId();
      const res = await postRaw(who, `{"dataSource":"main","sql":"select {n}","runId":"${runId}","params":{"n":${nested}}}`);
      expect(res.statusCode, res.body.slice(0, 300)).toBe(400);
      // Refused by the route's schema, or (a shallow list coerced by the validator) by variables.ts.
      const code = res.json().error.code as string;
      expect(['invalid_request', 'variable_invalid']).toContain(code);
      const events = await auditOf(t, runId);
      expect(events.map((e) => [e.action, e.outcome, e.error_code])).toEqual([['run.failed', 'error', code]]);
      expect(events[0]!.sql).toBe('select {n}');
      expect(JSON.stringify(events[0]!.params).length).toBeLessThan(200);
    }
  });

  it('refuses too many params, and SQL sent beside a query id, audited (THREATS 50)', async () => {
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`v${i}`, i]));
    const runId = newRunId();
    const res = await postRaw(editor, JSON.stringify({ dataSource: 'main', sql: 'select 1', params: many, runId }));
    expect(res.statusCode).toBe(400);
    expect((await auditOf(t, runId)).map((e) => e.error_code)).toEqual(['invalid_request']);
    const both = newRunId();
    const mixed = await postRaw(editor, JSON.stringify({ queryId: '1', sql: 'select 2', runId: both }));
    expect(mixed.statusCode).toBe(400);
    expect((await auditOf(t, both)).map((e) => [e.action, e.error_code])).toEqual([['run.failed', 'invalid_request']]);
  });

  it('stores long parameter values cut to a few KB (THREATS 49)', async () => {
    const runId = newRunId();
    await rows(
      t,
      editor,
      'select length({note}) as n, {tags} as tags',
      { note: 'z'.repeat(9_000), tags: ['short', 'list'] },
      { runId },
    );
    const started = (await auditOf(t, runId)).find((e) => e.action === 'run.started')!;
    expect(started.params).toEqual({ note: `${'z'.repeat(4096)}… [cut: 4,904 bytes]`, tags: ['short', 'list'] });
    // A refused run stores the same bounded form.
    const refusedId = newRunId();
    const refused = await postRaw(
      editor,
      JSON.stringify({ dataSource: 'main', sql: 'select {note}', params: { note: 'q'.repeat(90_000) }, runId: refusedId }),
    );
    expect(refused.statusCode).toBe(400);
    const failed = (await auditOf(t, refusedId))[0]!;
    expect(failed).toMatchObject({ action: 'run.failed', params: { note: `${'q'.repeat(4096)}… [cut: 85,904 bytes]` } });
    // A wrongly typed value still gets variables.ts's own message naming it (THREATS 26).
    const res = await postRaw(editor, JSON.stringify({ dataSource: 'main', sql: 'select {n}', params: { n: { $gt: 1 } } }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/The variable n must be/);
  });
});
