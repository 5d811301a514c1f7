import { describe, expect, it } from 'vitest';
import { isRelativeTime, isTimeZone, resolveRelativeTime, zonedIso } from './relative-time.js';

// 30 November 2026, 13:45:30 UTC: 14:45 in Paris, 08:45 in New York.
const now = new Date('2026-11-30T13:45:30.250Z');

describe('relative times', () => {
  it('recognises the grammar and nothing else', () => {
    for (const value of [
      'now',
      'today',
      'tomorrow',
      'this_month',
      'today-29d',
      'now-6h',
      'now-2w',
      'this_month-1mo',
      ' today ',
    ]) {
      expect(isRelativeTime(value), value).toBe(true);
    }
    for (const value of ['', 'yesterday', 'today+1d', 'today-1y', 'now-d', '2026-11-30', 'today-12345d', 'Today', 'now-1m']) {
      expect(isRelativeTime(value), value).toBe(false);
    }
    expect(resolveRelativeTime('2026-11-30', 'timestamp', { now })).toBeUndefined();
  });

  it('resolves in UTC by default, to the second', () => {
    const at = (value: string) => resolveRelativeTime(value, 'timestamp', { now });
    expect(at('now')).toBe('2026-11-30T13:45:30Z');
    expect(at('today')).toBe('2026-11-30T00:00:00Z');
    expect(at('tomorrow')).toBe('2026-12-01T00:00:00Z');
    expect(at('today-29d')).toBe('2026-11-01T00:00:00Z');
    expect(at('now-6h')).toBe('2026-11-30T07:45:30Z');
    expect(at('now-2w')).toBe('2026-11-16T13:45:30Z');
    expect(at('this_month')).toBe('2026-11-01T00:00:00Z');
    expect(at('this_month-1mo')).toBe('2026-10-01T00:00:00Z');
    expect(at('today-1mo')).toBe('2026-10-30T00:00:00Z');
  });

  it("follows the zone's calendar and offsets, across a DST change", () => {
    const paris = (value: string, when = now) => resolveRelativeTime(value, 'timestamp', { now: when, timeZone: 'Europe/Paris' });
    expect(paris('today')).toBe('2026-11-30T00:00:00+01:00');
    expect(paris('tomorrow')).toBe('2026-12-01T00:00:00+01:00');
    // Summer time ended on 25 October 2026: 29 days back is midnight at +02:00, not 23:00 the day before.
    expect(paris('today-39d')).toBe('2026-10-22T00:00:00+02:00');
    // Shortly after midnight in Paris it is still the day before in UTC.
    expect(paris('today', new Date('2026-11-30T23:30:00Z'))).toBe('2026-12-01T00:00:00+01:00');
    expect(resolveRelativeTime('today', 'timestamp', { now, timeZone: 'America/New_York' })).toBe('2026-11-30T00:00:00-05:00');
    expect(resolveRelativeTime('now', 'timestamp', { now, timeZone: 'Asia/Kolkata' })).toBe('2026-11-30T19:15:30+05:30');
  });

  it('gives calendar days for date variables, and clamps month ends', () => {
    expect(resolveRelativeTime('today-1w', 'date', { now })).toBe('2026-11-23');
    expect(resolveRelativeTime('tomorrow', 'date', { now, timeZone: 'Pacific/Kiritimati' })).toBe('2026-12-02');
    expect(resolveRelativeTime('today-1mo', 'date', { now: new Date('2026-03-31T12:00:00Z') })).toBe('2026-02-28');
    expect(resolveRelativeTime('this_month-1mo', 'date', { now: new Date('2026-01-15T12:00:00Z') })).toBe('2025-12-01');
  });

  it('knows time zones by their IANA names', () => {
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(zonedIso(Date.parse('2026-06-01T12:00:00Z'), 'Europe/London')).toBe('2026-06-01T13:00:00+01:00');
  });
});
