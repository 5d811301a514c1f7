import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.js';
import { DENIED_FUNCTIONS } from './function-classification.js';
import { checkStatement } from './guard.js';
import { OffsetMap } from './sql-position.js';

const check = (sql: string) => checkStatement(sql, sql, new OffsetMap());

async function refusal(sql: string): Promise<AppError> {
  try {
    await check(sql);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error(`expected ${sql} to be refused`);
}

describe('statement guard', () => {
  it('accepts read-only statements and says what kind they are', async () => {
    expect((await check('select 1')).kind).toBe('select');
    expect((await check('with x as (select 1) select * from x')).kind).toBe('select');
    expect((await check('values (1), (2)')).kind).toBe('select');
    expect((await check('table pg_class')).kind).toBe('select');
    expect((await check('explain select 1')).kind).toBe('explain');
    expect((await check('explain (analyze, buffers) select 1')).kind).toBe('explain');
    expect((await check('show timezone')).kind).toBe('show');
    expect((await check('-- note\nselect 1; -- trailing\n')).kind).toBe('select');
  });

  it('finds the statement inside comments and the trailing semicolon', async () => {
    const sql = '/* c */ select 1 ;';
    const checked = await check(sql);
    expect(sql.slice(checked.start, checked.end).trim()).toBe('select 1');
  });

  it('refuses several statements, pointing at the second (THREATS 1)', async () => {
    const error = await refusal('select 1;\n  delete from t');
    expect(error.code).toBe('multiple_statements');
    expect(error.details).toMatchObject({ position: { line: 2, column: 3 } });
    expect((await refusal('COMMIT; DELETE FROM t')).code).toBe('multiple_statements');
  });

  it('refuses transaction control with a clear message (THREATS 2)', async () => {
    for (const [sql, name] of [
      ['commit', 'COMMIT'],
      ['rollback', 'ROLLBACK'],
      ['begin', 'BEGIN'],
      ['set transaction read write', 'SET TRANSACTION'],
      ['savepoint a', 'SAVEPOINT'],
    ]) {
      const error = await refusal(sql!);
      expect(error.code).toBe('statement_not_allowed');
      expect(error.message).toBe(`${name} is not available: Porthole runs each query in its own read-only transaction.`);
    }
  });

  it('refuses data-modifying CTEs, EXPLAIN ANALYZE of writes and locking clauses (THREATS 5-7)', async () => {
    const cte = await refusal('with x as (delete from t returning *) select * from x');
    expect(cte.message).toMatch(/DELETE inside a query/);
    expect(cte.details).toMatchObject({ position: { column: 24 } });
    expect(
      (await refusal('select * from (select 1) s where exists (with y as (insert into t values (1) returning 1) select 1)')).code,
    ).toBe('statement_not_allowed');
    expect((await refusal('explain analyze delete from t')).message).toMatch(/^EXPLAIN DELETE is not allowed/);
    expect((await refusal('select * from t for update')).message).toMatch(/FOR UPDATE/);
    expect((await refusal('select * from t for share')).code).toBe('statement_not_allowed');
    expect((await refusal('select * from t, lateral (select 1 for key share) x')).code).toBe('statement_not_allowed');
    expect((await refusal('select * into t2 from t')).message).toMatch(/INTO creates a table/);
  });

  it('refuses procedural, session and maintenance statements by name (THREATS 14)', async () => {
    const cases: Record<string, RegExp> = {
      'do $$ begin perform 1; end $$': /^DO is not allowed/,
      'call p()': /^CALL is not allowed/,
      'prepare p as select 1': /^PREPARE is not available/,
      'listen x': /^LISTEN is not available/,
      "notify x, 'y'": /^NOTIFY is not available/,
      'create temp table x (a int)': /^CREATE TABLE is not allowed/,
      vacuum: /^VACUUM is not allowed/,
      analyze: /^ANALYZE is not allowed/,
      'lock table t': /^LOCK TABLE is not allowed/,
      "copy t to '/tmp/x.csv'": /^COPY is not available/,
      "copy (select 1) to program 'id'": /^COPY is not available/,
      'set statement_timeout = 0': /^SET is not allowed/,
      'insert into t values (1)': /^INSERT is not allowed: Porthole is read-only/,
      'create function f() returns int language sql as $$ select 1 $$': /^CREATE FUNCTION is not allowed/,
    };
    for (const [sql, message] of Object.entries(cases)) expect((await refusal(sql)).message).toMatch(message);
  });

  it('refuses by name what reaches other sessions, writes large objects or runs SQL from text', async () => {
    const cases: Record<string, RegExp> = {
      'select pg_cancel_backend(1)': /^pg_cancel_backend\(\) is not available in Porthole: it signals server processes/,
      'select pg_catalog.pg_terminate_backend(1)': /^pg_terminate_backend\(\)/,
      'select * from pg_stat_activity': /^pg_stat_activity is not available/,
      'select * from pg_catalog.pg_stat_get_activity(null)': /^pg_stat_get_activity\(\)/,
      "select lo_from_bytea(0, 'x')": /writes large objects/,
      "select query_to_xml('select pg_cancel_backend(1)', true, true, '')": /runs SQL given as text/,
      "select * from dblink('dbname=x', 'select 1') as t(a int)": /connects to other databases/,
    };
    for (const [sql, message] of Object.entries(cases)) {
      const error = await refusal(sql);
      expect(error.code, sql).toBe('statement_not_allowed');
      expect(error.message, sql).toMatch(message);
    }
    expect((await refusal('select 1,\n  pg_cancel_backend(1)')).details).toMatchObject({ position: { line: 2, column: 3 } });
    expect((await check('select now(), random(), clock_timestamp(), pg_sleep(0), current_setting($1)')).kind).toBe('select');
  });

  it('judges every call syntax by the same rules as f(x) (THREATS 45)', async () => {
    const cases: Record<string, RegExp> = {
      // attribute notation: a one-argument function on a value or on a whole row
      'select (1).pg_cancel_backend': /^pg_cancel_backend\(\) \(here written as an attribute/,
      'select (pid).pg_terminate_backend from (select 1 as pid) s': /^pg_terminate_backend\(\)/,
      'select s.pg_stat_get_activity from (select null::int) s': /^pg_stat_get_activity\(\)/,
      'select ((1)).lo_unlink': /^lo_unlink\(\)/,
      // the spelling does not matter: PostgreSQL's parser has resolved quotes, escapes and case
      'select "pg_cancel_backend"(1)': /^pg_cancel_backend\(\)/,
      'select U&"pg\\005fcancel\\005fbackend"(1)': /^pg_cancel_backend\(\)/,
      'select PG_CATALOG.PG_CANCEL_BACKEND(1)': /^pg_cancel_backend\(\)/,
      'select (1)."pg_terminate_backend"': /^pg_terminate_backend\(\)/,
      'select public.pg_cancel_backend(1)': /^pg_cancel_backend\(\)/,
      // anywhere in the tree
      'select 1 where exists (select 1 order by pg_cancel_backend(1))': /^pg_cancel_backend\(\)/,
      'select * from generate_series(1, 2) g, lateral (select (g).pg_cancel_backend) x': /^pg_cancel_backend\(\)/,
      'explain select pg_logical_emit_message(false, $$p$$, $$m$$)':
        /^pg_logical_emit_message\(\) is not available in Porthole: it writes to the write-ahead log/,
      // SQL given as text, tables named in a string, advisory locks, settings, sequences
      "select ts_stat('select to_tsvector(query) from pg_stat_activity')": /runs SQL given as text/,
      "select ts_rewrite('a'::tsquery, 'select ''a''::tsquery, ''b''::tsquery')": /runs SQL given as text/,
      "select table_to_xml('pg_stat_activity', true, false, '')": /reads tables named in a string/,
      "select database_to_xml(true, false, '')": /reads tables named in a string/,
      'select pg_advisory_xact_lock(1)': /advisory locks/,
      "select set_config('statement_timeout', '0', false)": /changes session settings/,
      "select nextval('s')": /advances or sets a sequence/,
      "select pg_notify('c', 'x')": /sends notifications/,
      "select pg_read_file('/etc/passwd')": /reads the server’s files/,
    };
    for (const [sql, message] of Object.entries(cases)) {
      const error = await refusal(sql);
      expect(error.code, sql).toBe('statement_not_allowed');
      expect(error.message, sql).toMatch(message);
    }
    // The position of an attribute call is its value's.
    expect((await refusal('select 1,\n  (2).pg_cancel_backend')).details).toMatchObject({ position: { line: 2, column: 4 } });
  });

  it('refuses every denied function of the classification as f(…) and as (value).f (THREATS 46)', async () => {
    for (const name of Object.keys(DENIED_FUNCTIONS)) {
      const quoted = `"${name}"`;
      expect((await refusal(`select ${quoted}(1)`)).code, name).toBe('statement_not_allowed');
      expect((await refusal(`select (1).${quoted}`)).code, name).toBe('statement_not_allowed');
      expect((await refusal(`select * from ${quoted}(1)`)).code, name).toBe('statement_not_allowed');
    }
    // A column that merely shares a name with an allowed function is still a column.
    expect((await check('select s.now, (s).random from (select 1 as now, 2 as random) s')).kind).toBe('select');
  });

  it('reports syntax errors with line and column (THREATS 22)', async () => {
    const error = await refusal('select 1\nfrom where x');
    expect(error.code).toBe('syntax_error');
    expect(error.message).toBe('Syntax error at or near "where"');
    expect(error.details).toMatchObject({ position: { line: 2, column: 6, offset: 14 } });
    // Characters before the error that take several bytes (or two UTF-16 units) do not shift the column.
    const unicode = await refusal("select 'é😀' from where");
    expect(unicode.details).toMatchObject({ position: { line: 1, column: 19 } });
  });

  it('says when there is nothing to run', async () => {
    expect((await refusal('-- just a comment')).code).toBe('empty_sql');
  });
});
