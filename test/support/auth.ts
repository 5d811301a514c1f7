// Signing in for tests of other features: a real user row and a real session in the tools DB, with the
// cookie signed by the app's own signer. The OIDC flow itself is covered in test/auth/.
import { randomBytes } from 'node:crypto';
import type { Session } from 'fastify';
import type { SessionUser } from '../../server/auth/guards.js';
import { ToolsDbSessionStore } from '../../server/auth/session-store.js';
import { upsertUser } from '../../server/auth/users.repository.js';
import type { Role } from '../../server/config.js';
import { sessionCookieName, sessionSigner } from '../../server/plugins/session.js';
import type { TestApp } from './app.js';

export interface SignedIn {
  /** A Cookie header value. */
  cookie: string;
  user: SessionUser;
  sessionId: string;
}

export async function signIn(
  t: TestApp,
  role: Role = 'editor',
  who: { name?: string; email?: string; groups?: string[] } = {},
): Promise<SignedIn> {
  const tag = randomBytes(4).toString('hex');
  const row = await upsertUser(t.app.toolsDb, {
    issuer: 'https://idp.test',
    subject: `${role}-${tag}`,
    email: who.email ?? `${role}-${tag}@example.com`,
    name: who.name ?? `Test ${role} ${tag}`,
    groups: who.groups ?? [],
    role,
  });
  const user: SessionUser = { id: row.id, email: row.email, name: row.name, role: row.role, groups: row.groups };
  const idleMs = t.config.session.idleMinutes * 60_000;
  const store = new ToolsDbSessionStore(t.app.toolsDb, { idleMs, absoluteMs: t.config.session.maxHours * 3_600_000 });
  const sessionId = randomBytes(24).toString('base64url');
  const data = {
    createdAt: Date.now(),
    user,
    cookie: {
      originalMaxAge: idleMs,
      expires: new Date(Date.now() + idleMs).toISOString(),
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
    },
  } as unknown as Session;
  await new Promise<void>((resolve, reject) => store.set(sessionId, data, (error) => (error ? reject(error) : resolve())));
  const cookie = `${sessionCookieName(t.config.publicUrl)}=${encodeURIComponent(sessionSigner(t.config.sessionSecret!).sign(sessionId))}`;
  return { cookie, user, sessionId };
}

/** Headers for a state-changing request from the app's own pages. */
export function jsonHeaders(signedIn: SignedIn, t: TestApp): Record<string, string> {
  return { cookie: signedIn.cookie, 'content-type': 'application/json', origin: new URL(t.config.publicUrl).origin };
}
