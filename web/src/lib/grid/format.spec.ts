// The zone is set before format.ts reads it (imports below are hoisted, so it goes through a dynamic import).
(globalThis as unknown as { process: { env: Record<string, string> } }).process.env.TZ = 'Europe/Paris';

import { describe, expect, it } from 'vitest';
import { optionsFromResult } from '../variables/options';
const { cellText, columnTitle, formatNumber, formatTime, isIdColumn, isUrl } = await import('./format');
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

  it('shows instants in the user zone with the zone, keeps sub-second digits, leaves zoneless timestamps as written', () => {
    // This file runs in Paris (set at its top), so the zone shown is an offset that changes with summer time.
    expect(formatTime('2024-06-01T12:00:00Z')).toBe('2024-06-01 14:00:00 +02:00');
    expect(formatTime('2024-01-15T12:00:00.123456Z')).toBe('2024-01-15 13:00:00.123456 +01:00');
    expect(formatTime('2024-06-01T12:00:00-05:00')).toBe('2024-06-01 19:00:00 +02:00');
    // timestamp without time zone: as stored, no zone invented, not shifted.
    expect(formatTime('2024-06-01T12:00:00')).toBe('2024-06-01 12:00:00');
    expect(cellText('2024-06-01T12:00:00.5', 'time', 'at')).toBe('2024-06-01 12:00:00.5');
    expect(formatTime('infinity')).toBe('infinity');
    expect(columnTitle({ name: 'at', type: 'time', dbType: 'timestamptz' })).toBe(
      'at (timestamptz, shown in your time zone: Europe/Paris)',
    );
    expect(columnTitle({ name: 'at', type: 'time', dbType: 'timestamp' })).toBe(
      'at (timestamp without time zone, shown as stored)',
    );
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
