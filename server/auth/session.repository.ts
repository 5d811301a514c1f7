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
      // The absolute expiry never moves once set.
      oc.column('sid').doUpdateSet({ user_id: row.userId, data: row.data, expires_at: row.expiresAt }),
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
