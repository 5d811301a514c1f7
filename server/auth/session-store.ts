// The @fastify/session store backed by the tools DB, so any task behind the load balancer can serve any
// session. Expiry is enforced here: idle (pushed forward on use) and absolute (fixed at creation). A
// session without a user is only ever a sign-in in progress: it lives as long as a pending login may
// (15 minutes), so unfinished sign-ins cannot pile up for the user's whole idle lifetime (THREATS.md 52).
import type { Session } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import { PENDING_LOGIN_TTL_MS } from './login.service.js';
import { deleteExpiredSessions, deleteSession, readSession, writeSession } from './session.repository.js';

type Callback = (error?: unknown) => void;
type SessionCallback = (error: unknown, session?: Session | null) => void;

export interface SessionLifetimes {
  idleMs: number;
  absoluteMs: number;
  /** Lifetime of a session without a user (a pending login); default PENDING_LOGIN_TTL_MS. */
  anonymousMs?: number;
}

export class ToolsDbSessionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly lifetimes: SessionLifetimes,
  ) {}

  set(sid: string, session: Session, callback: Callback): void {
    const now = Date.now();
    const createdAt = typeof session.createdAt === 'number' ? session.createdAt : now;
    const { idleMs, absoluteMs, anonymousMs = PENDING_LOGIN_TTL_MS } = this.lifetimes;
    const signedIn = session.user !== undefined;
    writeSession(this.db, {
      sid,
      userId: session.user?.id ?? null,
      data: JSON.stringify(session),
      expiresAt: new Date(now + (signedIn ? idleMs : Math.min(idleMs, anonymousMs))),
      absoluteExpiresAt: new Date(createdAt + (signedIn ? absoluteMs : Math.min(absoluteMs, anonymousMs))),
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
