import { describe, expect, it } from 'vitest';
import { safeReturnTo } from './return-to.js';

const ORIGIN = 'https://porthole.example.com';

describe('safeReturnTo (THREATS.md 33, 44)', () => {
  it.each([
    ['/queries/12-revenue?start_time=2026-01-01#chart', '/queries/12-revenue?start_time=2026-01-01#chart'],
    ['/', '/'],
    ['/admin/audit?actor=3', '/admin/audit?actor=3'],
    // Normalised, and still on this origin: the answer is the path the browser would reach anyway.
    ['/queries/../admin/audit', '/admin/audit'],
    ['/queries/./7', '/queries/7'],
    ['/queries/%2e%2e/admin', '/admin'],
    ['/queries/7?next=//evil.example#//evil.example', '/queries/7?next=//evil.example#//evil.example'],
    ['/queries/100%25', '/queries/100%25'],
    ['/queries/caf%C3%A9', '/queries/caf%C3%A9'],
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
    // Dot segments that collapse into a protocol-relative path (THREATS.md 44).
    '/a/..//evil.example',
    '/..//evil.example',
    '/.//evil.example',
    '/x/./..//evil.example',
    '/a/b/../..//evil.example',
    // The same with percent-encoded dots, in either case, whole or half.
    '/%2e%2e//evil.example',
    '/%2E%2E//evil.example',
    '/.%2e//evil.example',
    '/%2e.//evil.example',
    '/a/%2e%2e//evil.example',
    '/%2e//evil.example',
    // Encoded slashes and backslashes that a decoding router or proxy turns into //host or /\host.
    '/%2f/evil.example',
    '/%2F%2Fevil.example',
    '/%5cevil.example',
    '/%5C%5Cevil.example',
    '/%252f/evil.example',
    '/%25252e%25252e//evil.example',
    '/a/%252e%252e//evil.example',
    '/%2f%zz/evil.example',
    // Backslashes, tabs and newlines hidden behind dot segments.
    '/./\\evil.example',
    '/a/..\\evil.example',
    '/a/../\t/evil.example',
    '/%09/evil.example',
    '/%0a/evil.example',
    '/.\n/evil.example',
  ])('turns %j into /', (input) => {
    expect(safeReturnTo(input, ORIGIN)).toBe('/');
  });
});
