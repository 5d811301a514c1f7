import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.js';
import { bindVariables, variableNames } from './variables.js';

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('variables', () => {
  it('finds variables in code only: not in comments, strings, quoted identifiers or dollar quotes', () => {
    const sql = `select {a}, '{b}' || "{c}", $$ {d} $$, $tag$ {e} $tag$, E'\\' {f}' -- {g}
      /* {h} /* nested {i} */ {j} */ from t where x ~ 'a{1,2}' and y = {k} and z{1,2}`;
    expect(variableNames(sql)).toEqual(['a', 'k']);
  });

  it('ignores regex quantifiers and digits-only names', () => {
    expect(variableNames('select {1}, {2,3}, {1abc}, {_x}, {x_1}')).toEqual(['_x', 'x_1']);
  });

  it('replaces each variable with a bind parameter and keeps the SQL otherwise unchanged', () => {
    const bound = bindVariables('select * from t where a = {a} and b > {b} or a2 = {a}', { a: 'x', b: '10' });
    expect(bound.text).toBe('select * from t where a = $1 and b > $2 or a2 = $1');
    expect(bound.values).toEqual(['x', '10']);
    expect(bound.types).toEqual([0, 23]); // text left to inference; digits are int4, as a literal 10 would be
  });

  it('types by Blazer conventions: *_at and start_time/end_time are timestamps, digits numbers', () => {
    const bound = bindVariables('select {created_at}, {start_time}, {end_time}, {n}, {big}, {ratio}, {flag}, {name}', {
      created_at: '2024-01-31T09:30:00Z',
      start_time: '2024-01-01',
      end_time: '2024-02-01 10:00',
      n: 7,
      big: '9007199254740993',
      ratio: '1.25',
      flag: true,
      name: '007 agent',
    });
    expect(bound.types).toEqual([1184, 1184, 1184, 23, 20, 1700, 16, 0]);
    expect(bound.values).toEqual([
      '2024-01-31T09:30:00Z',
      '2024-01-01',
      '2024-02-01 10:00',
      '7',
      '9007199254740993',
      '1.25',
      'true',
      '007 agent',
    ]);
  });

  it('follows declarations over conventions', () => {
    const bound = bindVariables('select {zip}, {day}', { zip: '01234', day: '2024-03-01' }, [
      { name: 'zip', kind: 'text' },
      { name: 'day', kind: 'date' },
    ]);
    expect(bound.types).toEqual([0, 1082]);
    expect(bound.values).toEqual(['01234', '2024-03-01']);
  });

  it('expands a list into an IN list of parameters', () => {
    const bound = bindVariables('select * from t where id in ({ids}) and s in ({states})', {
      ids: [1, 2, 3],
      states: ['a', 'b'],
    });
    expect(bound.text).toBe('select * from t where id in ($1, $2, $3) and s in ($4, $5)');
    expect(bound.values).toEqual(['1', '2', '3', 'a', 'b']);
    expect(bound.types).toEqual([23, 23, 23, 0, 0]);
  });

  it('keeps hostile values as values (THREATS 24)', () => {
    for (const value of ["'); DROP TABLE t; --", '{{7*7}}', '${7*7}', '__proto__']) {
      const bound = bindVariables('select {v}', { v: value });
      expect(bound.text).toBe('select $1');
      expect(bound.values).toEqual([value]);
    }
  });

  it('asks to remove quotes around a variable (THREATS 25)', () => {
    const error = errorOf(() => bindVariables("select * from t where name = '{x}'", { x: 'a' }));
    expect(error.code).toBe('variable_in_string');
    expect(error.message).toMatch(/Remove the quotes/);
    expect(error.details).toMatchObject({ variable: 'x', position: { line: 1, column: 30 } });
    expect(errorOf(() => bindVariables("select '{x}'", {})).code).toBe('variable_in_string');
    expect(errorOf(() => bindVariables("select * from t where name like '%{x}%' and a = {x}", { x: 'a' })).code).toBe(
      'variable_in_string',
    );
  });

  it('leaves array literals and JSON text alone', () => {
    expect(bindVariables("select '{a}'::text[], '{a,b}', '{\"k\": 1}'::jsonb", {}).text).toBe(
      "select '{a}'::text[], '{a,b}', '{\"k\": 1}'::jsonb",
    );
  });

  it('names a missing, unknown or wrongly shaped variable (THREATS 26)', () => {
    expect(errorOf(() => bindVariables('select {n}', {})).details).toMatchObject({ variable: 'n' });
    expect(errorOf(() => bindVariables('select {n}', {})).code).toBe('variable_missing');
    expect(errorOf(() => bindVariables('select {n}', { n: null })).code).toBe('variable_missing');
    expect(errorOf(() => bindVariables('select 1', { m: 1 })).code).toBe('variable_unknown');
    const wrong = errorOf(() => bindVariables('select {n}', { n: { $gt: 1 } }));
    expect(wrong.code).toBe('variable_invalid');
    expect(wrong.message).toMatch(/n must be text, a number.*got an object/);
    expect(errorOf(() => bindVariables('select {n}', { n: [{ a: 1 }] })).code).toBe('variable_invalid');
    expect(errorOf(() => bindVariables('select {n}', { n: [] })).code).toBe('variable_invalid');
    expect(errorOf(() => bindVariables('select {created_at}', { created_at: 'yesterday' })).message).toMatch(
      /created_at must be a time/,
    );
    expect(errorOf(() => bindVariables('select {n}', { n: 'a\0b' })).code).toBe('variable_invalid');
    expect(errorOf(() => bindVariables('select {n}', { n: 'x' }, [{ name: 'n', kind: 'number' }])).message).toMatch(
      /must be a number/,
    );
    expect(errorOf(() => bindVariables('select {n}', { n: [1, 2] }, [{ name: 'n', kind: 'number' }])).message).toMatch(
      /not a list/,
    );
  });

  it('maps positions in the rewritten SQL back to the original', () => {
    const bound = bindVariables('select {long_name}, x', { long_name: 1 });
    expect(bound.text).toBe('select $1, x');
    expect(bound.offsets.toOriginal(11)).toBe(20); // "x"
    expect(bound.offsets.toOriginal(8)).toBe(7); // inside "$1" -> start of {long_name}
    expect(bound.offsets.toOriginal(2)).toBe(2);
  });
});
