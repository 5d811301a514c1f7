// The runner through the API, as the shipped reader role: THREATS.md 1-3, 5-8, 14, 22-26, result values,
// the run tag, viewers and the audit trail of a run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { auditOf, failure, mainQuery, newRunId, post, rows, run } from './support.js';

describe('the read-only runner', () => {
  let t: TestApp;
  let editor: SignedIn;
  let viewer: SignedIn;

  beforeAll(async () => {
    t = await startTestApp({ QUERY_TIMEOUT_MS: '5000' });
    [editor, viewer] = await Promise.all([signIn(t, 'editor'), signIn(t, 'viewer')]);
    const reader = t.main.readerRole;
    await mainQuery(
      t,
      `create table t (id int primary key, note text);
       insert into t values (1, 'one'), (2, 'two');
       create sequence s;
       grant select on t, s to ${reader};`,
    );
  });
  afterAll(() => t?.close());

  const countOfT = async () => Number((await mainQuery(t, 'select count(*) from t')).rows[0].count);

  it('returns typed columns and JSON values without precision loss', async () => {
    const result = await rows(
      t,
      editor,
      `select 9223372036854775807::bigint as big, 12345678901234567890.5::numeric as num, 0.1::float8 as f, 42 as i,
              timestamptz '2024-01-31 09:30:00.123456+00' as at, date '2024-01-31' as day, true as yes,
              '{"a": 12345678901234567890}'::jsonb as doc, '\\x00ff'::bytea as raw, null::text as nothing,
              '<img src=x onerror=alert(1)>' as "<b>html</b>"`,
    );
    expect(result.columns.map((c) => [c.name, c.type])).toEqual([
      ['big', 'number'],
      ['num', 'number'],
      ['f', 'number'],
      ['i', 'number'],
      ['at', 'time'],
      ['day', 'date'],
      ['yes', 'boolean'],
      ['doc', 'json'],
      ['raw', 'binary'],
      ['nothing', 'string'],
      ['<b>html</b>', 'string'],
    ]);
    expect(result.rows).toEqual([
      [
        '9223372036854775807',
        '12345678901234567890.5',
        0.1,
        42,
        '2024-01-31T09:30:00.123456Z',
        '2024-01-31',
        true,
        '{"a": 12345678901234567890}',
        '\\x00ff',
        null,
        '<img src=x onerror=alert(1)>',
      ],
    ]);
    expect(result).toMatchObject({ statement: 'select', rowCount: 1, truncated: false });
  });

  it('tags the SQL so a DBA can trace it in pg_stat_activity', async () => {
    const runId = newRunId();
    const result = await rows(t, editor, 'select current_query()', undefined, { runId });
    expect(result.id).toBe(runId);
    expect(String(result.rows[0]![0])).toMatch(new RegExp(`^/\\* porthole run:${runId} user:${editor.user.id} query:- \\*/\\n`));
  });

  it('refuses COMMIT; DELETE and changes nothing (THREATS 1)', async () => {
    const error = await failure(t, editor, 'COMMIT; DELETE FROM t');
    expect(error).toMatchObject({ status: 400, code: 'multiple_statements' });
    expect(await countOfT()).toBe(2);
  });

  it('refuses lone transaction control; the next run is still read-only (THREATS 2)', async () => {
    for (const sql of ['COMMIT', 'ROLLBACK', 'BEGIN', 'SET TRANSACTION READ WRITE', 'START TRANSACTION READ WRITE']) {
      const error = await failure(t, editor, sql);
      expect(error, sql).toMatchObject({ status: 400, code: 'statement_not_allowed' });
      expect(error.message).toMatch(/own read-only transaction/);
    }
    const after = await rows(t, editor, "select current_setting('transaction_read_only') as ro");
    expect(after.rows).toEqual([['on']]);
  });

  it('refuses set_config, and resets the session between runs (THREATS 3)', async () => {
    // The guard refuses session settings (issue 21); test/engine/layers.test.ts shows the reset holds without it.
    const refused = await failure(
      t,
      editor,
      "select set_config('default_transaction_read_only', 'off', false), set_config('search_path', 'nowhere', false)",
    );
    expect(refused).toMatchObject({ status: 400, code: 'statement_not_allowed' });
    const first = await rows(t, editor, 'select pg_backend_pid() as pid');
    const pid = first.rows[0]![0];
    // Pooled connections are reused last-in first-out; look until the same backend serves a run.
    let after: unknown[] | undefined;
    for (let attempt = 0; attempt < 20 && !after; attempt++) {
      const next = await rows(
        t,
        editor,
        "select pg_backend_pid(), current_setting('default_transaction_read_only'), current_setting('transaction_read_only'), current_setting('statement_timeout'), current_setting('search_path')",
      );
      if (next.rows[0]![0] === pid) after = next.rows[0];
    }
    expect(after).toEqual([pid, 'on', 'on', '5s', '"$user", public']);
    const write = await failure(t, editor, "select set_config('x.y', 'z', false) from t where id = 1 for update");
    expect(write.code).toBe('statement_not_allowed');
  });

  it('refuses a data-modifying CTE (THREATS 5)', async () => {
    const error = await failure(t, editor, 'WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x');
    expect(error).toMatchObject({ status: 400, code: 'statement_not_allowed' });
    expect(error.message).toMatch(/DELETE inside a query/);
    expect(await countOfT()).toBe(2);
  });

  it('refuses EXPLAIN ANALYZE DELETE; EXPLAIN SELECT returns a plan (THREATS 6)', async () => {
    expect(await failure(t, editor, 'EXPLAIN ANALYZE DELETE FROM t')).toMatchObject({
      status: 400,
      code: 'statement_not_allowed',
    });
    expect(await countOfT()).toBe(2);
    const plan = await rows(t, editor, 'EXPLAIN SELECT * FROM t WHERE id = 1');
    expect(plan.statement).toBe('explain');
    expect(plan.columns).toEqual([{ name: 'QUERY PLAN', type: 'string', dbType: 'text' }]);
    expect(String(plan.rows[0]![0])).toMatch(/Scan/);
  });

  it('refuses FOR UPDATE / FOR SHARE and takes no row locks (THREATS 7)', async () => {
    for (const sql of [
      'SELECT * FROM t FOR UPDATE',
      'SELECT * FROM t FOR SHARE',
      'SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED',
    ]) {
      expect(await failure(t, editor, sql), sql).toMatchObject({ status: 400, code: 'statement_not_allowed' });
    }
    const locks = await mainQuery(t, `select count(*) from pg_locks where relation = 't'::regclass and mode like 'Row%'`);
    expect(Number(locks.rows[0].count)).toBe(0);
  });

  it('cannot move a sequence (THREATS 8)', async () => {
    for (const sql of ["select nextval('s')", "select setval('s', 100)"]) {
      const error = await failure(t, editor, sql);
      expect(error, sql).toMatchObject({ status: 400, code: 'statement_not_allowed' });
      expect(error.message, sql).toMatch(/advances or sets a sequence/);
    }
    const { rows: seq } = await mainQuery(t, 'select last_value, is_called from s');
    expect(seq).toEqual([{ last_value: '1', is_called: false }]);
  });

  it('refuses procedural, session and maintenance statements with a clear message (THREATS 14)', async () => {
    const cases: Record<string, RegExp> = {
      'DO $$ BEGIN DELETE FROM t; END $$': /^DO is not allowed/,
      'CALL p()': /^CALL is not allowed/,
      'PREPARE p AS SELECT 1': /^PREPARE is not available/,
      'LISTEN x': /^LISTEN is not available/,
      "NOTIFY x, 'y'": /^NOTIFY is not available/,
      'CREATE TEMP TABLE x (a int)': /^CREATE TABLE is not allowed/,
      VACUUM: /^VACUUM is not allowed/,
      ANALYZE: /^ANALYZE is not allowed/,
      'LOCK TABLE t': /^LOCK TABLE is not allowed/,
      "COPY t TO PROGRAM 'id'": /^COPY is not available/,
      "COPY t TO '/tmp/x.csv'": /^COPY is not available/,
    };
    for (const [sql, message] of Object.entries(cases)) {
      const error = await failure(t, editor, sql);
      expect(error.code, sql).toBe('statement_not_allowed');
      expect(error.message, sql).toMatch(message);
    }
    expect(await countOfT()).toBe(2);
  });

  it('answers a syntax error with 400, the message and the position (THREATS 22)', async () => {
    const syntax = await failure(t, editor, 'select id,\n  note\nfrom t where');
    expect(syntax).toMatchObject({ status: 400, code: 'syntax_error', message: 'Syntax error at end of input' });
    expect(syntax.position).toMatchObject({ line: 3, column: 13 });
    // Errors PostgreSQL finds when it plans the query carry positions too, mapped past the variables.
    const missing = await failure(t, editor, 'select {n}::int as n,\n  nosuch from t', { n: 1 });
    expect(missing).toMatchObject({ status: 400, code: 'query_error', pgCode: '42703' });
    expect(missing.message).toMatch(/Column "nosuch" does not exist/);
    expect(missing.position).toMatchObject({ line: 2, column: 3 });
  });

  it('refuses oversized SQL, NUL characters and invalid UTF-8 (THREATS 23)', async () => {
    expect(await failure(t, editor, `select '${'x'.repeat(100_001)}'`)).toMatchObject({ status: 413, code: 'sql_too_large' });
    expect(await failure(t, editor, 'select 1\u0000')).toMatchObject({ status: 400, code: 'invalid_sql_text' });
    expect(await failure(t, editor, 'select 1 -- \ud800')).toMatchObject({ status: 400, code: 'invalid_encoding' });
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"dataSource":"main","sql":"select \''),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('\'"}'),
    ]);
    const res = await t.app.inject({ method: 'POST', url: '/api/runs', headers: jsonHeaders(editor, t), payload: invalidUtf8 });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_encoding');
  });

  it('passes hostile variable values as literal values (THREATS 24)', async () => {
    for (const value of ["'); DROP TABLE t; --", '{{7*7}}', '${7*7}', '__proto__', "1' OR '1'='1"]) {
      const result = await rows(t, editor, 'select {v} as v, (select count(*) from t where note = {v}) as matches', { v: value });
      expect(result.rows).toEqual([[value, '0']]);
    }
    expect(await countOfT()).toBe(2);
  });

  it('asks to remove quotes around a variable (THREATS 25)', async () => {
    const error = await failure(t, editor, "select * from t where note = '{x}'", { x: 'one' });
    expect(error).toMatchObject({ status: 400, code: 'variable_in_string', variable: 'x' });
    expect(error.message).toMatch(/Remove the quotes/);
  });

  it('names a missing, unknown or wrongly typed variable (THREATS 26)', async () => {
    expect(await failure(t, editor, 'select * from t where id = {id}')).toMatchObject({
      status: 400,
      code: 'variable_missing',
      variable: 'id',
    });
    expect(await failure(t, editor, 'select 1', { id: 1 })).toMatchObject({
      status: 400,
      code: 'variable_unknown',
      variable: 'id',
    });
    const wrong = await failure(t, editor, 'select * from t where id > {n}', { n: { $gt: 1 } });
    expect(wrong).toMatchObject({ status: 400, code: 'variable_invalid', variable: 'n' });
    expect(wrong.message).toMatch(/n must be/);
    expect(await failure(t, editor, 'select {created_at}', { created_at: 'soon' })).toMatchObject({
      code: 'variable_invalid',
      variable: 'created_at',
    });
  });

  it('binds typed variables and lists by Blazer conventions', async () => {
    const result = await rows(
      t,
      editor,
      `select count(*) filter (where id in ({ids})) as listed, {start_at} < {end_at} as ordered, {n} + 1 as next,
              pg_typeof({start_at})::text as time_type, {name} as name
       from t`,
      { ids: [1, 2, 3], start_at: '2024-01-01', end_at: '2024-02-01T00:00:00Z', n: '41', name: 'Ann' },
    );
    expect(result.rows).toEqual([['2', true, 42, 'timestamp with time zone', 'Ann']]);
  });

  it('lets a viewer run no free SQL (403) and records the denial', async () => {
    const runId = newRunId();
    const res = await post(t, viewer, '/api/runs', { dataSource: 'main', sql: 'select 1', runId });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('forbidden');
    const events = await auditOf(t, runId);
    expect(events.map((e) => [e.action, e.outcome, e.error_code])).toEqual([['run.failed', 'denied', 'forbidden']]);
  });

  it('refuses SQL sent beside a saved query id (the stored SQL is what runs)', async () => {
    const both = await post(t, editor, '/api/runs', { queryId: '1', dataSource: 'main', sql: 'select 1' });
    expect(both.statusCode).toBe(400);
    expect(both.json().error.message).toMatch(/either queryId/);
  });

  it('records run.started (with SQL and params) before run.finished', async () => {
    const runId = newRunId();
    await rows(t, editor, 'select id from t where id >= {min}', { min: 1 }, { runId });
    const events = await auditOf(t, runId);
    expect(events.map((e) => e.action)).toEqual(['run.started', 'run.finished']);
    expect(events[0]).toMatchObject({ sql: 'select id from t where id >= {min}', params: { min: 1 } });
    expect(events[1]).toMatchObject({ outcome: 'ok', row_count: '2', details: { truncated: false, format: 'json' } });
  });

  it('reports a 404 for an unknown data source and a 400 for a malformed request', async () => {
    const unknown = await post(t, editor, '/api/runs', { dataSource: 'nope', sql: 'select 1' });
    expect(unknown.statusCode).toBe(404);
    expect((await post(t, editor, '/api/runs', { dataSource: 'main' })).statusCode).toBe(400);
    expect((await run(t, editor, 'select 1', undefined, { runId: 'not-a-uuid' })).statusCode).toBe(400);
  });
});
