import { describe, expect, it } from 'vitest';
import type { Card, CardQuery, DashboardVariable } from './api';
import { cardParams, currentValues, resolveDefault, searchFor } from './values';

const now = new Date('2026-11-30T13:45:30Z');

describe('dashboard variable values', () => {
  it("resolves relative defaults as the queries do, in the user's zone and to the minute, and keeps the rest", () => {
    const at = (variable: DashboardVariable, timeZone = 'UTC') => resolveDefault(variable, now, timeZone);
    expect(at({ name: 'start_time', kind: 'timestamp', default: 'now-30d' })).toBe('2026-10-31T13:45:00Z');
    expect(at({ name: 'end_time', kind: 'timestamp', default: 'now' })).toBe('2026-11-30T13:45:00Z');
    expect(at({ name: 'since', kind: 'timestamp', default: 'now-6h' })).toBe('2026-11-30T07:45:00Z');
    // The Last 30 days preset: midnights in the user's zone, whatever the minute.
    expect(at({ name: 'start_time', kind: 'timestamp', default: 'today-29d' }, 'Europe/Berlin')).toBe(
      '2026-11-01T00:00:00+01:00',
    );
    expect(at({ name: 'end_time', kind: 'timestamp', default: 'tomorrow' }, 'Europe/Berlin')).toBe('2026-12-01T00:00:00+01:00');
    expect(at({ name: 'month', kind: 'date', default: 'this_month-1mo' })).toBe('2026-10-01');
    expect(at({ name: 'day', kind: 'date', default: 'today-1w' })).toBe('2026-11-23');
    // Relative words are values only for dates and timestamps.
    expect(at({ name: 'word', kind: 'text', default: 'today' })).toBe('today');
    expect(at({ name: 'channel', kind: 'text', default: 'email' })).toBe('email');
    expect(at({ name: 'channel', kind: 'text', default: null })).toBe('');
  });

  it('takes values from the URL over defaults, and writes only what differs from them', () => {
    const variables = [
      { name: 'channel', kind: 'text' as const, default: 'email' },
      { name: 'status', kind: 'text' as const, default: null },
    ];
    expect(currentValues(variables, new URLSearchParams('channel=sms'), now, 'UTC')).toEqual({ channel: 'sms', status: '' });
    expect(searchFor(variables, { channel: 'email', status: 'failed' }, new URLSearchParams('tv=1'))).toBe('?tv=1&status=failed');
    expect(searchFor(variables, { channel: 'email', status: '' }, new URLSearchParams())).toBe('');
  });

  it("maps a card's query variables to the dashboard's, by name unless the card maps them", () => {
    const card = { variableMap: { since: 'start_time' } } as unknown as Card;
    const query = {
      variables: [
        { name: 'since', kind: 'timestamp' },
        { name: 'channel', kind: 'text' },
        { name: 'ids', kind: 'number', multiple: true },
        { name: 'unset', kind: 'text' },
      ],
    } as unknown as CardQuery;
    expect(cardParams(card, query, { start_time: 'a', channel: 'sms', ids: '1, 2,3', unset: '' })).toEqual({
      since: 'a',
      channel: 'sms',
      ids: ['1', '2', '3'],
    });
  });
});
