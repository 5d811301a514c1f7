// The @fastify/session store backed by the tools DB, so any task behind the load balancer can serve any
// session. Expiry is enforced here: idle (pushed forward on use) and absolute (fixed at creation).
import type { Session } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import { deleteExpiredSessions, deleteSession, readSession, writeSession } from './session.repository.js';

type Callback = (error?: unknown) => void;
type SessionCallback = (error: unknown, session?: Session | null) => void;

export interface SessionLifetimes {
  idleMs: number;
  absoluteMs: number;
}

export class ToolsDbSessionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly lifetimes: SessionLifetimes,
  ) {}

  set(sid: string, session: Session, callback: Callback): void {
    const now = Date.now();
    const createdAt = typeof session.createdAt === 'number' ? session.createdAt : now;
    writeSession(this.db, {
      sid,
      userId: session.user?.id ?? null,
      data: JSON.stringify(session),
      expiresAt: new Date(now + this.lifetimes.idleMs),
      absoluteExpiresAt: new Date(createdAt + this.lifetimes.absoluteMs),
    }).then(() => callback(), callback);
  }

  get(sid: string, callback: SessionCallback): void {
    // Returned as stored JSON; @fastify/session rebuilds its Session object from it.
    readSession(this.db, sid).then(async (row) => {
      if (!row) return callback(null, null);
      const now = Date.now();
      if (row.expires_at.getTime() <= now || row.absolute_expires_at.getTime() <= now) {
        await deleteSession(this.db, sid);
        return callback(null, null);
      }
      callback(null, row.data as Session);
    }, callback);
  }

  destroy(sid: string, callback: Callback): void {
    deleteSession(this.db, sid).then(() => callback(), callback);
  }

  purgeExpired(): Promise<number> {
    return deleteExpiredSessions(this.db);
  }
}
