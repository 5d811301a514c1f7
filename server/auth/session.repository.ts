// Kysely access to sessions: one row per session id, with idle and absolute expiry.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';

export interface StoredSession {
  data: unknown;
  expires_at: Date;
  absolute_expires_at: Date;
}

export async function readSession(db: Kysely<Database>, sid: string): Promise<StoredSession | undefined> {
  return db
    .selectFrom('sessions')
    .select(['data', 'expires_at', 'absolute_expires_at'])
    .where('sid', '=', sid)
    .executeTakeFirst();
}

export async function writeSession(
  db: Kysely<Database>,
  row: { sid: string; userId: string | null; data: string; expiresAt: Date; absoluteExpiresAt: Date },
): Promise<void> {
  await db
    .insertInto('sessions')
    .values({
      sid: row.sid,
      user_id: row.userId,
      data: row.data,
      expires_at: row.expiresAt,
      absolute_expires_at: row.absoluteExpiresAt,
    })
    .onConflict((oc) =>
      // A signed-in session's absolute expiry never moves once set. A row without a user (a sign-in in
      // progress, or the fresh id @fastify/session saves at regenerate) takes the one computed now, so
      // signing in gives the full lifetime rather than the pending login's 15 minutes.
      oc.column('sid').doUpdateSet({
        user_id: row.userId,
        data: row.data,
        expires_at: row.expiresAt,
        absolute_expires_at: sql<Date>`case when sessions.user_id is null then excluded.absolute_expires_at
                                            else sessions.absolute_expires_at end`,
      }),
    )
    .execute();
}

export async function deleteSession(db: Kysely<Database>, sid: string): Promise<void> {
  await db.deleteFrom('sessions').where('sid', '=', sid).execute();
}

export async function deleteExpiredSessions(db: Kysely<Database>): Promise<number> {
  const result = await db
    .deleteFrom('sessions')
    .where(sql<boolean>`least(expires_at, absolute_expires_at) < now()`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Live sessions without a user: sign-ins in progress (anonymous callers get no session otherwise). */
export async function countPendingLogins(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', 'is', null)
    .where(sql<boolean>`least(expires_at, absolute_expires_at) > now()`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
