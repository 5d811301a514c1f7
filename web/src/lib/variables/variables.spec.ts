import { describe, expect, it } from 'vitest';
import {
  findVariables,
  fromLocalInput,
  inputFor,
  localIso,
  presetRange,
  readFromUrl,
  toLocalInput,
  writeToUrl,
} from './variables';

describe('variables in SQL', () => {
  it('finds each name once, in order, outside comments, literals and quoted identifiers', () => {
    const sql = `-- {commented}
      select * from t /* {block} */ where a = {user_id} and b > {start_time} and c = '{status}'
        and d = '{not_alone} x' and e = '{arr}'::text[] and "{quoted}" = $$ {dollar} $$ and f ~ 'x{1,2}'
        and g < {end_time} and h = {user_id}`;
    expect(findVariables(sql)).toEqual(['user_id', 'start_time', 'status', 'end_time']);
  });

  it('picks inputs by Blazer naming conventions', () => {
    expect(['created_at', 'start_time', 'end_time', 'user_id', 'limit', 'name'].map(inputFor)).toEqual([
      'datetime',
      'range-start',
      'range-end',
      'number',
      'number',
      'text',
    ]);
  });
});

describe('variables in the URL', () => {
  it('round-trips values and keeps other parameters', () => {
    const search = writeToUrl('?tab=chart&old=1', { name: 'a&b=c', start_time: '2024-01-01T00:00:00+01:00', empty: '' }, [
      'name',
      'start_time',
      'empty',
    ]);
    expect(search).toBe('?tab=chart&old=1&name=a%26b%3Dc&start_time=2024-01-01T00%3A00%3A00%2B01%3A00');
    expect(readFromUrl(search, ['name', 'start_time', 'empty'])).toEqual({
      name: 'a&b=c',
      start_time: '2024-01-01T00:00:00+01:00',
    });
  });

  it('converts datetime-local input values to ISO with the offset and back', () => {
    const iso = fromLocalInput('2024-03-10T09:30');
    expect(iso).toMatch(/^2024-03-10T09:30:00[+-]\d\d:\d\d$/);
    expect(toLocalInput(iso)).toBe('2024-03-10T09:30');
    expect(fromLocalInput('')).toBe('');
  });
});

describe('date-range presets', () => {
  const now = new Date(2024, 2, 15, 13, 45); // 15 March 2024, local
  const day = (y: number, m: number, d: number, end = false) =>
    localIso(new Date(y, m, d, end ? 23 : 0, end ? 59 : 0, end ? 59 : 0));
  it.each([
    ['Today', day(2024, 2, 15), day(2024, 2, 15, true)],
    ['Yesterday', day(2024, 2, 14), day(2024, 2, 14, true)],
    ['Last 7 days', day(2024, 2, 9), day(2024, 2, 15, true)],
    ['Last 30 days', day(2024, 1, 15), day(2024, 2, 15, true)],
    ['Last 90 days', day(2023, 11, 17), day(2024, 2, 15, true)],
    ['This month', day(2024, 2, 1), day(2024, 2, 15, true)],
    ['Last month', day(2024, 1, 1), day(2024, 1, 29, true)],
  ] as const)('%s', (preset, start, end) => {
    expect(presetRange(preset, now)).toEqual({ start, end });
  });
});
