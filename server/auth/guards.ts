// Authorization primitives for routes: request.user is set by the session plugin from the signed-in
// session; requireRole() is the preHandler every protected route names.
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Role } from '../config.js';
import { AppError } from '../lib/errors.js';
import type { Principal } from './principal.js';

export interface SessionUser {
  id: string;
  email: string | null;
  name: string | null;
  role: Role;
  groups: string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request acts for (a session or an API token; auth/principal.ts), or undefined. */
    user?: Principal;
  }
  interface FastifyContextConfig {
    /** Marks a route as reachable without a session; only routes on the reviewed allow-list may set it. */
    public?: boolean;
  }
}

const RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 };

export function hasRole(user: SessionUser, role: Role): boolean {
  return RANK[user.role] >= RANK[role];
}

/** The signed-in user, or a 401 (for services called from routes that already ran requireRole). */
export function currentUser(request: FastifyRequest): Principal {
  if (!request.user) throw new AppError(401, 'unauthenticated', 'Sign in to continue.');
  return request.user;
}

/** preHandler: 401 without a session, 403 when the user's role is below `role`. */
export function requireRole(role: Role): preHandlerAsyncHookHandler {
  return async function checkRole(request: FastifyRequest, _reply: FastifyReply) {
    const user = currentUser(request);
    if (!hasRole(user, role))
      throw new AppError(403, 'forbidden', `This needs the ${role} role; you are ${roleWithArticle(user.role)}.`);
  };
}

/** "a viewer", "an editor", "an admin": refusals read as sentences. */
export function roleWithArticle(role: Role): string {
  return `${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role}`;
}
