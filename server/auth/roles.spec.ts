import { describe, expect, it } from 'vitest';
import type { Config } from '../config.js';
import { groupsFromClaim, roleFor } from './roles.js';

const mapping: Config['roles'] = {
  adminEmails: ['boss@example.com'],
  adminGroups: ['dba'],
  viewerGroups: ['support'],
  defaultRole: 'editor',
};

describe('roleFor', () => {
  it.each([
    [{ email: 'boss@example.com', emailVerified: true, groups: [] }, 'admin'],
    [{ email: 'BOSS@example.com', emailVerified: undefined, groups: ['support'] }, 'admin'],
    [{ email: 'boss@example.com', emailVerified: false, groups: [] }, 'editor'],
    [{ email: 'dev@example.com', emailVerified: true, groups: ['dba', 'support'] }, 'admin'],
    [{ email: 'help@example.com', emailVerified: true, groups: ['support'] }, 'viewer'],
    [{ email: null, emailVerified: undefined, groups: [] }, 'editor'],
  ] as const)('%j -> %s', (claims, role) => {
    expect(roleFor({ ...claims, groups: [...claims.groups] }, mapping)).toBe(role);
  });

  it('falls back to the configured default role', () => {
    expect(roleFor({ email: 'x@example.com', emailVerified: true, groups: [] }, { ...mapping, defaultRole: 'viewer' })).toBe(
      'viewer',
    );
  });
});

describe('groupsFromClaim', () => {
  it('reads arrays, single strings and space-separated strings', () => {
    expect(groupsFromClaim(['a', 'b', 3])).toEqual(['a', 'b']);
    expect(groupsFromClaim('ops')).toEqual(['ops']);
    expect(groupsFromClaim('ops dba')).toEqual(['ops', 'dba']);
    expect(groupsFromClaim(undefined)).toEqual([]);
  });
});
