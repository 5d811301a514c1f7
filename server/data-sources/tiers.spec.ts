import { describe, expect, it } from 'vitest';
import { chooseTier, parseColumnRef } from './tiers.js';

const source = {
  tiers: [
    { name: 'standard', groups: [] },
    { name: 'analytics', groups: ['analysts', 'data'] },
    { name: 'pii', groups: ['support'] },
  ],
};

describe('chooseTier', () => {
  it('picks the highest tier the groups allow, from the groups alone', () => {
    expect(chooseTier(source, []).name).toBe('standard');
    expect(chooseTier(source, ['engineering']).name).toBe('standard');
    expect(chooseTier(source, ['data']).name).toBe('analytics');
    expect(chooseTier(source, ['support']).name).toBe('pii');
    expect(chooseTier(source, ['analysts', 'support']).name).toBe('pii');
    // Group names match exactly: no prefixes, no case folding.
    expect(chooseTier(source, ['Support', 'support-team']).name).toBe('standard');
  });

  it('gives a source without tiers above the first its only tier', () => {
    expect(chooseTier({ tiers: [{ name: 'standard', groups: [] }] }, ['support']).name).toBe('standard');
  });
});

describe('parseColumnRef', () => {
  it('reads schema.table.column and table.column (public), quoted names kept as written', () => {
    expect(parseColumnRef('public.users.email')).toEqual({ schema: 'public', table: 'users', column: 'email' });
    expect(parseColumnRef('notifications.to')).toEqual({ schema: 'public', table: 'notifications', column: 'to' });
    expect(parseColumnRef('Sales."Customer List"."E-Mail"')).toEqual({
      schema: 'sales',
      table: 'Customer List',
      column: 'E-Mail',
    });
    expect(parseColumnRef('a."b.c"')).toEqual({ schema: 'public', table: 'a', column: 'b.c' });
  });

  it('refuses anything else', () => {
    for (const bad of ['users', 'a.b.c.d', 'a..b', 'a.b.', '.a.b', 'a b.c', 'a."b', ''])
      expect(parseColumnRef(bad), bad).toBeUndefined();
  });
});
