import { describe, expect, it } from 'vitest';
import { safeReturnTo } from './return-to.js';

const ORIGIN = 'https://porthole.example.com';

describe('safeReturnTo (THREATS.md 33)', () => {
  it.each([
    ['/queries/12-revenue?start_time=2026-01-01#chart', '/queries/12-revenue?start_time=2026-01-01#chart'],
    ['/', '/'],
    ['/admin/audit?actor=3', '/admin/audit?actor=3'],
  ])('keeps the same-origin path %s', (input, expected) => {
    expect(safeReturnTo(input, ORIGIN)).toBe(expected);
  });

  it.each([
    '//evil.example',
    '//evil.example/path',
    'https://evil.example',
    'http://porthole.example.com.evil.example/',
    '/\\evil.example',
    '\\\\evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    'javascript:alert(1)',
    'evil.example',
    '',
    undefined,
    42,
    '/'.padEnd(3000, 'a'),
  ])('turns %j into /', (input) => {
    expect(safeReturnTo(input, ORIGIN)).toBe('/');
  });
});
