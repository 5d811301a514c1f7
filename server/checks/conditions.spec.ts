import { describe, expect, it } from 'vitest';
import { evaluate, type Condition } from './conditions.js';

const result = (columns: string[], rows: unknown[][]) => ({ columns: columns.map((name) => ({ name })), rows });
const day = (n: number) => new Date(Date.UTC(2026, 10, 1) + n * 86_400_000).toISOString();

describe('conditions', () => {
  it('rows fails on any row, no_rows on none', () => {
    expect(evaluate({ kind: 'rows' }, result(['id'], [[1], [2]]))).toEqual({
      state: 'failing',
      reason: 'The query returned 2 rows.',
    });
    expect(evaluate({ kind: 'rows' }, result(['id'], [])).state).toBe('ok');
    expect(evaluate({ kind: 'no_rows' }, result(['id'], [])).state).toBe('failing');
    expect(evaluate({ kind: 'no_rows' }, result(['id'], [[1]])).state).toBe('ok');
  });

  it('threshold compares the first row with every operator, numbers as text too', () => {
    const cases: Array<[Condition & { kind: 'threshold' }, 'ok' | 'failing']> = [
      [{ kind: 'threshold', column: 'failed', op: '>', value: 10 }, 'failing'],
      [{ kind: 'threshold', column: 'failed', op: '>=', value: 12 }, 'failing'],
      [{ kind: 'threshold', column: 'failed', op: '<', value: 12 }, 'ok'],
      [{ kind: 'threshold', column: 'failed', op: '<=', value: 12 }, 'failing'],
      [{ kind: 'threshold', column: 'failed', op: '=', value: 12 }, 'failing'],
      [{ kind: 'threshold', column: 'failed', op: '!=', value: 12 }, 'ok'],
    ];
    for (const [condition, state] of cases) expect(evaluate(condition, result(['failed'], [['12'], [1000]])).state).toBe(state);
    expect(evaluate(cases[0]![0], result(['failed'], [[12]])).reason).toBe('failed is 12, which is > 10.');
    expect(evaluate(cases[0]![0], result(['other'], [[12]]))).toEqual({
      state: 'error',
      reason: 'The result has no column "failed".',
    });
    expect(evaluate(cases[0]![0], result(['failed'], [])).state).toBe('error');
    expect(evaluate(cases[0]![0], result(['failed'], [['n/a']])).state).toBe('error');
  });

  it('anomaly: the last point against median ± k × MAD of the earlier ones, at least 8 of them', () => {
    const steady = [100, 104, 98, 101, 97, 103, 99, 102];
    const series = (last: number) =>
      result(
        ['day', 'sent'],
        [...steady, last].map((v, i) => [day(i), v]),
      );
    const condition: Condition = { kind: 'anomaly', column: 'sent' };
    // median 100.5, MAD 2, k 3: the band is 94.5 to 106.5
    expect(evaluate(condition, series(105))).toMatchObject({ state: 'ok' });
    expect(evaluate(condition, series(107))).toEqual({
      state: 'failing',
      reason: 'The last value 107 is outside 94.50 to 106.50 (median 100.50 ± 3 × MAD 2 over 8 points).',
    });
    expect(evaluate(condition, series(40)).state).toBe('failing');
    expect(evaluate({ ...condition, k: 4 }, series(107)).state).toBe('ok');
    // rows out of order are sorted by the time column first
    const shuffled = series(40);
    shuffled.rows.reverse();
    expect(evaluate(condition, shuffled).state).toBe('failing');
    expect(
      evaluate(
        condition,
        result(
          ['day', 'sent'],
          steady.slice(0, 7).map((v, i) => [day(i), v]),
        ),
      ).reason,
    ).toMatch(/at least 8 earlier points; the result has 6/);
  });

  it('anomaly with weekly seasonality compares like weekdays only', () => {
    // Weekdays around 1000, Sundays around 200, for nine weeks; the last point is a Sunday.
    const rows: unknown[][] = [];
    for (let i = 0; i < 63; i++) rows.push([day(i), i % 7 === 6 ? 200 + (i % 3) : 1000 + (i % 5)]);
    const sundayOf = (value: number) => result(['day', 'sent'], [...rows, [day(69), value]]);
    expect(evaluate({ kind: 'anomaly', column: 'sent', seasonality: 'weekly' }, sundayOf(201)).state).toBe('ok');
    expect(evaluate({ kind: 'anomaly', column: 'sent', seasonality: 'weekly' }, sundayOf(1000)).state).toBe('failing');
    // Without seasonality the quiet Sunday looks like an anomaly.
    expect(evaluate({ kind: 'anomaly', column: 'sent' }, sundayOf(201)).state).toBe('failing');
  });
});
