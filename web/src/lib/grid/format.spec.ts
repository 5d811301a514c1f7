import { describe, expect, it } from 'vitest';
import { optionsFromResult } from '../variables/options';
import { cellText, formatNumber, formatTime, isIdColumn, isUrl } from './format';
import { sortedOrder } from './sort';

describe('cell formatting', () => {
  it('groups digits without losing any, and leaves id columns alone', () => {
    expect(formatNumber('12345678901234567890.123456789', 'amount')).toBe('12,345,678,901,234,567,890.123456789');
    expect(formatNumber(-1234.5, 'delta')).toBe('-1,234.5');
    expect(formatNumber('NaN', 'x')).toBe('NaN');
    expect(['id', 'user_id', 'userId', 'ID', 'paid', 'idle_count'].map(isIdColumn)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
    expect(formatNumber(1234567, 'service_id')).toBe('1234567');
  });

  it('shows instants in the user zone, keeps sub-second digits, leaves zoneless timestamps as written', () => {
    // The unit tests run with the machine's zone; compare with what Date says for that zone.
    const date = new Date('2024-06-01T12:00:00Z');
    const pad = (n: number) => String(n).padStart(2, '0');
    const local = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:00`;
    expect(formatTime('2024-06-01T12:00:00Z')).toBe(local);
    expect(formatTime('2024-06-01T12:00:00.123456Z')).toBe(`${local}.123456`);
    expect(formatTime('2024-06-01T12:00:00')).toBe('2024-06-01 12:00:00');
    expect(formatTime('infinity')).toBe('infinity');
  });

  it('links only http(s) URLs', () => {
    expect(isUrl('https://example.com/a?b=1')).toBe(true);
    expect(isUrl('javascript:alert(1)')).toBe(false);
    expect(isUrl('https://example.com/<script>')).toBe(false);
    expect(cellText(true, 'boolean', 'flag')).toBe('true');
  });
});

describe('client sort', () => {
  const rows = [
    ['10', 'b', null],
    ['9', null, '2024-01-02T00:00:00Z'],
    [null, 'a', '2024-01-01T00:00:00Z'],
    ['100', 'B', '2023-12-31T23:00:00-05:00'],
  ];
  it('sorts numbers as numbers, text by locale, times as instants, NULLs last', () => {
    expect([...sortedOrder(rows, 0, 'number', 'asc')]).toEqual([1, 0, 3, 2]);
    expect([...sortedOrder(rows, 0, 'number', 'desc')]).toEqual([3, 0, 1, 2]);
    expect([...sortedOrder(rows, 1, 'string', 'asc')]).toEqual([2, 0, 3, 1]);
    expect([...sortedOrder(rows, 2, 'time', 'asc')]).toEqual([2, 3, 1, 0]);
  });

  it('sorts 100,000 rows by index, without copying them', () => {
    const many = Array.from({ length: 100_000 }, (_, i) => [String((i * 7919) % 100_000)]);
    const order = sortedOrder(many, 0, 'number', 'asc');
    expect(many[order[0]!]![0]).toBe('0');
    expect(many[order[99_999]!]![0]).toBe('99999');
  });
});

describe('variable options', () => {
  it('takes values from the first column and labels from the second', () => {
    expect(
      optionsFromResult({
        rows: [
          [1, 'One'],
          ['2', null],
          [null, 'none'],
        ],
      }),
    ).toEqual([
      { value: '1', label: 'One' },
      { value: '2', label: '2' },
      { value: '', label: 'none' },
    ]);
  });
});
