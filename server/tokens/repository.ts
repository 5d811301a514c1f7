// Kysely access to api_tokens (personal tokens and CSV links).
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../../schema/database.js';
import type { Role } from '../config.js';
import type { TokenKind } from '../auth/principal.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface TokenRow {
  id: string;
  userId: string;
  ownerEmail: string | null;
  ownerName: string | null;
  kind: TokenKind;
  name: string;
  secretHint: string;
  scopes: string[];
  queryId: string | null;
  params: Record<string, unknown> | null;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
}

/** A token found by its secret's hash, with its user as the users table has them now. */
export interface TokenForUse extends TokenRow {
  user: { id: string; email: string | null; name: string | null; role: Role; groups: string[] };
}

function tokenColumns(db: Db) {
  return db
    .selectFrom('api_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select([
      't.id',
      't.user_id as userId',
      'u.email as ownerEmail',
      'u.name as ownerName',
      't.kind',
      't.name',
      't.secret_hint as secretHint',
      't.scopes',
      't.query_id as queryId',
      't.params',
      't.created_at as createdAt',
      't.expires_at as expiresAt',
      't.revoked_at as revokedAt',
      't.last_used_at as lastUsedAt',
      't.last_used_ip as lastUsedIp',
    ]);
}

type Selected = Omit<TokenRow, 'params'> & { params: unknown };
const asRow = (row: Selected): TokenRow => ({ ...row, params: (row.params as Record<string, unknown> | null) ?? null });

export async function insertToken(
  db: Db,
  row: {
    userId: string;
    kind: TokenKind;
    name: string;
    secretHash: Buffer;
    secretHint: string;
    scopes: string[];
    queryId?: string;
    params?: Record<string, unknown>;
    expiresAt: Date;
  },
): Promise<string> {
  const inserted = await db
    .insertInto('api_tokens')
    .values({
      user_id: row.userId,
      kind: row.kind,
      name: row.name,
      secret_hash: row.secretHash,
      secret_hint: row.secretHint,
      scopes: row.scopes,
      query_id: row.queryId ?? null,
      params: row.params === undefined ? null : JSON.stringify(row.params),
      expires_at: row.expiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return inserted.id;
}

export async function findToken(db: Db, id: string): Promise<TokenRow | undefined> {
  const row = await tokenColumns(db).where('t.id', '=', id).executeTakeFirst();
  return row && asRow(row as Selected);
}

/** Tokens newest first: one user's, or everyone's (admins). Expired and revoked ones stay listed. */
export async function listTokens(db: Db, filter: { userId?: string; limit: number }): Promise<TokenRow[]> {
  let query = tokenColumns(db).orderBy('t.created_at', 'desc').orderBy('t.id', 'desc').limit(filter.limit);
  if (filter.userId !== undefined) query = query.where('t.user_id', '=', filter.userId);
  return (await query.execute()).map((row) => asRow(row as Selected));
}

export async function findTokenBySecretHash(db: Db, hash: Buffer): Promise<TokenForUse | undefined> {
  const row = await tokenColumns(db).select(['u.role', 'u.groups']).where('t.secret_hash', '=', hash).executeTakeFirst();
  if (!row) return undefined;
  const { role, groups, ...token } = row;
  return {
    ...asRow(token as Selected),
    user: { id: token.userId, email: token.ownerEmail, name: token.ownerName, role, groups },
  };
}

/**
 * Records a use (time, address) and counts it in the token's current one-minute window, in one statement
 * so concurrent requests on any task see one count. Returns the count and when the window started.
 */
export async function recordTokenUse(
  db: Db,
  id: string,
  ip: string,
  windowMs: number,
): Promise<{ count: number; windowStart: Date }> {
  const fresh = sql<boolean>`(rate_window_start is null or rate_window_start <= now() - make_interval(secs => ${windowMs / 1000}))`;
  const row = await db
    .updateTable('api_tokens')
    .set({
      last_used_at: sql`now()`,
      last_used_ip: ip,
      rate_window_start: sql`case when ${fresh} then now() else rate_window_start end`,
      rate_window_count: sql`case when ${fresh} then 1 else rate_window_count + 1 end`,
    })
    .where('id', '=', id)
    .returning(['rate_window_count', 'rate_window_start'])
    .executeTakeFirstOrThrow();
  return { count: row.rate_window_count, windowStart: row.rate_window_start! };
}

export async function revokeToken(db: Db, id: string, byUserId: string): Promise<boolean> {
  const result = await db
    .updateTable('api_tokens')
    .set({ revoked_at: sql`now()`, revoked_by: byUserId })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
