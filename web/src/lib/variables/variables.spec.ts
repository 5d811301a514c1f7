import { describe, expect, it } from 'vitest';
import {
  findVariables,
  fromLocalInput,
  inputFor,
  presetOf,
  RANGE_PRESETS,
  readFromUrl,
  resolvedForDisplay,
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
  it('are relative times with an exclusive end (the start of the next day), so a link keeps rolling', () => {
    expect(RANGE_PRESETS.map(({ label, start, end }) => `${label}: ${start} .. ${end}`)).toEqual([
      'Today: today .. tomorrow',
      'Yesterday: today-1d .. today',
      'Last 7 days: today-6d .. tomorrow',
      'Last 30 days: today-29d .. tomorrow',
      'Last 90 days: today-89d .. tomorrow',
      'This month: this_month .. tomorrow',
      'Last month: this_month-1mo .. this_month',
    ]);
    expect(presetOf('today-29d', 'tomorrow')?.label).toBe('Last 30 days');
    expect(presetOf('today-29d', '2024-01-01T00:00:00Z')).toBeUndefined();
  });

  it('shows what a relative value stands for now, in the user zone; absolute values as they are', () => {
    const now = new Date(2024, 2, 15, 13, 45); // 15 March 2024, local
    const instant = (value: string) => Date.parse(resolvedForDisplay(value, now));
    expect(instant('today-29d')).toBe(new Date(2024, 1, 15).getTime());
    expect(instant('tomorrow')).toBe(new Date(2024, 2, 16).getTime());
    expect(instant('this_month-1mo')).toBe(new Date(2024, 1, 1).getTime());
    expect(toLocalInput(resolvedForDisplay('today', now))).toBe('2024-03-15T00:00');
    expect(resolvedForDisplay('2024-01-01T00:00:00Z', now)).toBe('2024-01-01T00:00:00Z');
  });
});
