// Sessions in the tools DB through @fastify/session, and request.user from the signed-in session.
// Cookie: __Host- prefixed, Secure, HttpOnly, SameSite=Lax, Path=/ (THREATS.md 36). Plain http with a
// non-prefixed name is allowed only on a loopback PUBLIC_URL outside production (config.ts enforces it).
import fastifyCookie, { Signer } from '@fastify/cookie';
import fastifySession from '@fastify/session';
import type { FastifyInstance, Session } from 'fastify';
import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import type { SessionUser } from '../auth/guards.js';
import { sessionPrincipal } from '../auth/principal.js';
import { ToolsDbSessionStore } from '../auth/session-store.js';
import type { Config } from '../config.js';
import { answersError } from './errors.js';

export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  startedAt: number;
}

declare module 'fastify' {
  interface Session {
    createdAt?: number;
    user?: SessionUser;
    idToken?: string;
    pendingLogin?: PendingLogin;
    /** When the idle expiry was last pushed forward (ms since the epoch). */
    touchedAt?: number;
  }
}

const PURGE_CRON = '*/10 * * * *';
/**
 * Activity pushes the idle expiry (the row's and the cookie's) forward at most this often: a signed-in
 * request saves its session only when it changed or this long after the last push, not on every request
 * (a write and a commit each: one per card when a dashboard refreshes). The idle timeout is thus exact to a
 * minute.
 */
export const SESSION_TOUCH_INTERVAL_MS = 60_000;

export function sessionCookieName(publicUrl: string): string {
  return publicUrl.startsWith('https:') ? '__Host-porthole_session' : 'porthole_session';
}

export function sessionSigner(secret: string): Signer {
  return new Signer(secret, 'sha256');
}

export const sessionPlugin = fp(async function session(app: FastifyInstance, opts: { config: Config; db: Kysely<Database> }) {
  const { config } = opts;
  const idleMs = config.session.idleMinutes * 60_000;
  const store = new ToolsDbSessionStore(opts.db, { idleMs, absoluteMs: config.session.maxHours * 3_600_000 });

  // The rolling save of a session whose reply answers an error: if the tools DB fails it (it may be what
  // the error is about), the error answer still goes out, in our shape (see answersError).
  const answeringError = new WeakSet<object>();
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.session && answersError(reply)) answeringError.add(request.session);
    return payload;
  });
  const savingStore = {
    get: store.get.bind(store),
    destroy: store.destroy.bind(store),
    set: (sid: string, session: Session, callback: (error?: unknown) => void) =>
      store.set(sid, session, (error?: unknown) => {
        if (error && answeringError.has(session)) {
          app.log.warn({ err: error }, 'the session could not be saved with an error answer');
          return callback();
        }
        callback(error);
      }),
  };

  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: sessionSigner(config.sessionSecret!),
    cookieName: sessionCookieName(config.publicUrl),
    cookie: { path: '/', httpOnly: true, secure: config.publicUrl.startsWith('https:'), sameSite: 'lax', maxAge: idleMs },
    store: savingStore,
    saveUninitialized: false,
    rolling: false, // see SESSION_TOUCH_INTERVAL_MS: the touch below marks the session modified when due
  });

  app.addHook('onRequest', async (request) => {
    const user = request.session.get('user');
    if (!user) return;
    request.user = sessionPrincipal(user);
    const touchedAt = request.session.get('touchedAt');
    const now = Date.now();
    if (typeof touchedAt !== 'number' || now - touchedAt >= SESSION_TOUCH_INTERVAL_MS) request.session.set('touchedAt', now);
  });

  // On the scheduler (registered before this plugin): once across tasks, logged there if it fails.
  app.scheduler.defineRecurring({
    name: 'sessions.purge',
    cron: PURGE_CRON,
    run: async () => {
      await store.purgeExpired();
    },
  });
});
