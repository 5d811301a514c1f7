// The role a user gets at each login, from the identity provider's claims and the configured mapping.
import type { Config, Role } from '../config.js';

export interface IdentityClaims {
  email: string | null;
  emailVerified: boolean | undefined;
  groups: string[];
}

/** Admin (by verified email or group) wins over viewer (by group), which wins over the default role. */
export function roleFor(claims: IdentityClaims, mapping: Config['roles']): Role {
  const email = claims.email?.toLowerCase();
  // An address the provider says it has not verified must not grant admin.
  if (email && claims.emailVerified !== false && mapping.adminEmails.includes(email)) return 'admin';
  if (claims.groups.some((group) => mapping.adminGroups.includes(group))) return 'admin';
  if (claims.groups.some((group) => mapping.viewerGroups.includes(group))) return 'viewer';
  return mapping.defaultRole;
}

/** Groups from a claim that providers send as an array, a single string or a space-separated string. */
export function groupsFromClaim(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return [];
}
