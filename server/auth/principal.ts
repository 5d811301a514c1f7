// The one principal (DESIGN.md "Shared pieces"): whoever a request acts for, however it signed in. Routes
// hand services this object; services check the role as before and, for token requests, the scope too;
// every audit event records it (AuditLog puts the token's id and name beside the user).
//
// Rules:
// - A session acts with the user's role as of login. A token acts with the role read from the users table
//   at every use, so a demoted user's tokens lose what the new role does not allow at once.
// - Scopes narrow a role, never widen it: a scope counts only while the current role allows it
//   (SCOPE_MIN_ROLE), and a token can only be created with scopes its owner's role allows.
import type { Role } from '../config.js';
import { AppError } from '../lib/errors.js';
import { hasRole, type SessionUser } from './guards.js';

export const SCOPES = ['queries:read', 'queries:run', 'sql:run', 'audit:read'] as const;
export type Scope = (typeof SCOPES)[number];

/** The least role each scope needs, at creation and at every use. */
export const SCOPE_MIN_ROLE: Readonly<Record<Scope, Role>> = {
  'queries:read': 'viewer',
  'queries:run': 'viewer',
  'sql:run': 'editor',
  'audit:read': 'admin',
};

/** What a scope lets a token do, shown on the tokens page and in the OpenAPI document. */
export const SCOPE_DESCRIPTIONS: Readonly<Record<Scope, string>> = {
  'queries:read': 'List and read saved queries and data sources',
  'queries:run': 'Run saved queries (with parameters) and read their background results',
  'sql:run': 'Run free SQL (editors and admins)',
  'audit:read': 'Read the audit log (admins)',
};

export type TokenKind = 'personal' | 'csv_link';

export type Authentication =
  | { method: 'session' }
  | {
      method: 'token';
      kind: TokenKind;
      tokenId: string;
      tokenName: string;
      /** The token's scopes that the user's current role still allows. */
      scopes: Scope[];
      /** CSV links: the one query and the parameter values the link is bound to. */
      queryId?: string;
      params?: Record<string, unknown>;
    };

/** A user acting through a session or a token: their current role, their groups as last seen, and how. */
export interface Principal extends SessionUser {
  auth: Authentication;
}

export function sessionPrincipal(user: SessionUser): Principal {
  return { ...user, auth: { method: 'session' } };
}

/** The scopes among `scopes` that `role` allows. */
export function scopesAllowed(role: Role, scopes: readonly Scope[]): Scope[] {
  return scopes.filter((scope) => hasRole({ role } as SessionUser, SCOPE_MIN_ROLE[scope]));
}

function authOf(user: SessionUser): Authentication {
  // Callers inside the server (tests, scheduled work) may pass a plain user: it acts as itself.
  return (user as Partial<Principal>).auth ?? { method: 'session' };
}

export function isTokenRequest(user: SessionUser | undefined): boolean {
  return user !== undefined && authOf(user).method === 'token';
}

/** Whether this principal may use `scope`: sessions always (their role decides), tokens when granted. */
export function allows(user: SessionUser, scope: Scope): boolean {
  const auth = authOf(user);
  return auth.method === 'session' || auth.scopes.includes(scope);
}

/** 403 when a token request lacks `scope`; the role checks still run beside this. */
export function requireScope(user: SessionUser, scope: Scope): void {
  if (!allows(user, scope)) {
    throw new AppError(403, 'insufficient_scope', `This API token does not have the ${scope} scope.`, { scope });
  }
}

/** The actor an audit event records: the user, and the token they acted through if any. */
export interface AuditActor {
  id: string;
  email: string | null;
  token?: { id: string; name: string; kind: TokenKind };
}

/** Accepts a principal, a plain user or an actor already built (which keeps its token). */
export function auditActor(user: SessionUser | AuditActor): AuditActor {
  if ('token' in user && user.token) return { id: user.id, email: user.email, token: user.token };
  const auth = authOf(user as SessionUser);
  return {
    id: user.id,
    email: user.email,
    ...(auth.method === 'token' ? { token: { id: auth.tokenId, name: auth.tokenName, kind: auth.kind } } : {}),
  };
}
