import { describe, expect, it } from 'vitest';
import type { Card, CardQuery } from './api';
import { cardParams, currentValues, resolveDefault, searchFor } from './values';

const now = new Date('2026-11-30T13:45:30Z');

describe('dashboard variable values', () => {
  it('resolves relative defaults for timestamps and dates, and keeps literal ones', () => {
    expect(resolveDefault({ name: 'start_time', kind: 'timestamp', default: 'now-30d' }, now)).toBe('2026-10-31T13:45Z');
    expect(resolveDefault({ name: 'end_time', kind: 'timestamp', default: 'now' }, now)).toBe('2026-11-30T13:45Z');
    expect(resolveDefault({ name: 'since', kind: 'timestamp', default: 'now-6h' }, now)).toBe('2026-11-30T07:45Z');
    expect(resolveDefault({ name: 'day', kind: 'date', default: 'today-1w' }, now)).toBe('2026-11-23');
    expect(resolveDefault({ name: 'channel', kind: 'text', default: 'email' }, now)).toBe('email');
    expect(resolveDefault({ name: 'channel', kind: 'text', default: null }, now)).toBe('');
  });

  it('takes values from the URL over defaults, and writes only what differs from them', () => {
    const variables = [
      { name: 'channel', kind: 'text' as const, default: 'email' },
      { name: 'status', kind: 'text' as const, default: null },
    ];
    expect(currentValues(variables, new URLSearchParams('channel=sms'), now)).toEqual({ channel: 'sms', status: '' });
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
