// API tokens and CSV links: the rules.
// - Tokens are made, listed and revoked through a session only (a token never mints or manages tokens).
// - A personal token names its scopes and an expiry of at most MAX_DAYS; its owner's role must allow
//   each scope (principal.ts SCOPE_MIN_ROLE). The secret is shown once; only its hash is stored.
// - A CSV link is a token bound to one saved query and its parameter values, with the queries:run scope
//   only; creating one needs the right to run that query.
// - Users list and revoke their own; admins list and revoke anyone's. Anyone else's token is a 404.
// - authenticate() is the door for every token request: unknown, expired, revoked or wrong-kind secrets
//   all get the same 401 (no hint which part was wrong); the role is read from the users table at every
//   use and the scopes narrowed to it; each use is counted against the token's rate limit.
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import { AuditLog } from '../audit/service.js';
import { hasRole, type SessionUser } from '../auth/guards.js';
import { isTokenRequest, SCOPE_MIN_ROLE, scopesAllowed, type Principal, type Scope, type TokenKind } from '../auth/principal.js';
import { AppError } from '../lib/errors.js';
import {
  findToken,
  findTokenBySecretHash,
  insertToken,
  listTokens,
  recordTokenUse,
  revokeToken,
  type TokenRow,
} from './repository.js';
import { hashSecret, newSecret, SECRET_PATTERN, secretHint, TOKEN_PREFIX } from './secrets.js';

export const MAX_DAYS = 365;
export const CSV_LINK_DEFAULT_DAYS = 90;
const DAY_MS = 86_400_000;
const RATE_WINDOW_MS = 60_000;

export interface TokenView {
  id: string;
  kind: TokenKind;
  name: string;
  hint: string;
  scopes: string[];
  owner: { id: string; email: string | null; name: string | null };
  queryId: string | null;
  params: Record<string, unknown> | null;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  status: 'active' | 'expired' | 'revoked';
}

/** Whether the user may run this saved query (the queries feature's own access check). */
export type QueryRunCheck = (user: SessionUser, queryId: string) => Promise<{ name: string }>;

function view(row: TokenRow): TokenView {
  const status = row.revokedAt ? 'revoked' : row.expiresAt.getTime() <= Date.now() ? 'expired' : 'active';
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    hint: row.secretHint,
    scopes: row.scopes,
    owner: { id: row.userId, email: row.ownerEmail, name: row.ownerName },
    queryId: row.queryId,
    params: row.params,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
    lastUsedIp: row.lastUsedIp,
    status,
  };
}

function invalidToken(): AppError {
  return new AppError(401, 'invalid_token', 'This API token or link is not valid: it is unknown, expired or revoked.');
}

function notFound(id: string): AppError {
  return new AppError(404, 'not_found', `There is no token ${id}, or it is not yours.`);
}

/** Tokens are managed by people signed in, never by another token. */
function requireSession(user: Principal): void {
  if (isTokenRequest(user)) throw new AppError(403, 'session_required', 'Tokens are managed from a signed-in session.');
}

function expiryFrom(expiresAt: string | undefined, expiresInDays: number | undefined, defaultDays?: number): Date {
  if (expiresAt !== undefined && expiresInDays !== undefined)
    throw new AppError(400, 'invalid_request', 'Send expiresAt or expiresInDays, not both.', { field: 'expiresAt' });
  const days = expiresInDays ?? (expiresAt === undefined ? defaultDays : undefined);
  const when = days !== undefined ? new Date(Date.now() + days * DAY_MS) : expiresAt ? new Date(expiresAt) : undefined;
  if (!when || Number.isNaN(when.getTime()))
    throw new AppError(400, 'invalid_request', 'An expiry is required (expiresAt or expiresInDays).', { field: 'expiresAt' });
  if (when.getTime() <= Date.now())
    throw new AppError(400, 'invalid_request', 'The expiry must be in the future.', { field: 'expiresAt' });
  // A minute of slack so "365 days from now" computed by a client a moment ago is still accepted.
  if (when.getTime() > Date.now() + MAX_DAYS * DAY_MS + 60_000)
    throw new AppError(400, 'invalid_request', `Tokens expire within ${MAX_DAYS} days.`, { field: 'expiresAt' });
  return when;
}

export class TokensService {
  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      canRunQuery: QueryRunCheck;
      rateLimitPerMinute: number;
    },
  ) {}

  async create(
    user: Principal,
    input: { name: string; scopes: Scope[]; expiresAt?: string; expiresInDays?: number },
    clientIp?: string,
  ): Promise<{ token: string; view: TokenView }> {
    requireSession(user);
    const scopes = [...new Set(input.scopes)];
    if (scopes.length === 0) throw new AppError(400, 'invalid_request', 'Choose at least one scope.', { field: 'scopes' });
    const beyond = scopes.filter((scope) => !hasRole(user, SCOPE_MIN_ROLE[scope]));
    if (beyond.length > 0) {
      throw new AppError(
        403,
        'forbidden',
        `Your role (${user.role}) cannot grant ${beyond.join(', ')}: a token never exceeds its owner's role.`,
        { scopes: beyond },
      );
    }
    const expiresAt = expiryFrom(input.expiresAt, input.expiresInDays);
    return this.issue(user, { kind: 'personal', name: input.name.trim(), scopes, expiresAt }, clientIp);
  }

  async createCsvLink(
    user: Principal,
    queryId: string,
    input: { params: Record<string, unknown>; name?: string; expiresAt?: string; expiresInDays?: number },
    clientIp?: string,
  ): Promise<{ token: string; view: TokenView }> {
    requireSession(user);
    const query = await this.deps.canRunQuery(user, queryId);
    const expiresAt = expiryFrom(input.expiresAt, input.expiresInDays, CSV_LINK_DEFAULT_DAYS);
    const name = (input.name?.trim() || `CSV: ${query.name}`).slice(0, 100);
    return this.issue(
      user,
      { kind: 'csv_link', name, scopes: ['queries:run'], expiresAt, queryId, params: input.params },
      clientIp,
    );
  }

  private async issue(
    user: Principal,
    token: {
      kind: TokenKind;
      name: string;
      scopes: Scope[];
      expiresAt: Date;
      queryId?: string;
      params?: Record<string, unknown>;
    },
    clientIp?: string,
  ): Promise<{ token: string; view: TokenView }> {
    if (token.name.length === 0) throw new AppError(400, 'invalid_request', 'Give the token a name.', { field: 'name' });
    const secret = newSecret(token.kind);
    const id = await this.deps.db.transaction().execute(async (trx) => {
      const id = await insertToken(trx, {
        userId: user.id,
        ...token,
        secretHash: hashSecret(secret),
        secretHint: secretHint(secret),
      });
      await new AuditLog(trx).record({
        action: 'token.created',
        actor: user,
        outcome: 'ok',
        clientIp,
        queryId: token.queryId,
        details: {
          tokenId: id,
          kind: token.kind,
          name: token.name,
          scopes: token.scopes,
          expiresAt: token.expiresAt.toISOString(),
        },
      });
      return id;
    });
    return { token: secret, view: view((await findToken(this.deps.db, id))!) };
  }

  async list(user: Principal, all: boolean): Promise<TokenView[]> {
    requireSession(user);
    if (all && !hasRole(user, 'admin')) throw new AppError(403, 'forbidden', 'Only admins list everyone’s tokens.');
    const rows = await listTokens(this.deps.db, { userId: all ? undefined : user.id, limit: 500 });
    return rows.map(view);
  }

  async revoke(user: Principal, id: string, clientIp?: string): Promise<TokenView> {
    requireSession(user);
    const row = await findToken(this.deps.db, id);
    if (!row || (row.userId !== user.id && !hasRole(user, 'admin'))) throw notFound(id);
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await revokeToken(trx, id, user.id))) return; // already revoked: nothing to record
      await new AuditLog(trx).record({
        action: 'token.revoked',
        actor: user,
        outcome: 'ok',
        clientIp,
        queryId: row.queryId ?? undefined,
        details: { tokenId: id, kind: row.kind, name: row.name, ownerId: row.userId },
      });
    });
    return view((await findToken(this.deps.db, id))!);
  }

  /** The principal a token secret acts as, or a 401; a 429 past the token's rate limit. */
  async authenticate(secret: string, kind: TokenKind, clientIp: string): Promise<Principal> {
    if (!SECRET_PATTERN.test(secret) || !secret.startsWith(TOKEN_PREFIX[kind])) throw invalidToken();
    const row = await findTokenBySecretHash(this.deps.db, hashSecret(secret));
    if (!row || row.kind !== kind || row.revokedAt || row.expiresAt.getTime() <= Date.now()) throw invalidToken();
    const use = await recordTokenUse(this.deps.db, row.id, clientIp, RATE_WINDOW_MS);
    if (use.count > this.deps.rateLimitPerMinute) {
      const retryAfterSeconds = Math.max(1, Math.ceil((use.windowStart.getTime() + RATE_WINDOW_MS - Date.now()) / 1000));
      throw new AppError(
        429,
        'token_rate_limited',
        `This token made more than ${this.deps.rateLimitPerMinute} requests in a minute; try again in ${retryAfterSeconds} s.`,
        { limit: this.deps.rateLimitPerMinute, retryAfterSeconds },
      );
    }
    return {
      ...row.user,
      auth: {
        method: 'token',
        kind: row.kind,
        tokenId: row.id,
        tokenName: row.name,
        scopes: scopesAllowed(row.user.role, row.scopes as Scope[]),
        ...(row.kind === 'csv_link' ? { queryId: row.queryId!, params: row.params ?? {} } : {}),
      },
    };
  }
}
