// /auth/login, /auth/callback, /auth/logout and /api/me. Thin: the rules live in LoginService.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { errorBody } from '../lib/errors.js';
import { requireRole } from './guards.js';
import { LoginFailure, type LoginService } from './login.service.js';
import { loginFailedPage } from './pages.js';
import { safeReturnTo } from './return-to.js';

const UserSchema = Type.Object({
  id: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  name: Type.Union([Type.String(), Type.Null()]),
  role: Type.Union([Type.Literal('viewer'), Type.Literal('editor'), Type.Literal('admin')]),
  groups: Type.Array(Type.String()),
});

export async function authRoutes(app: FastifyInstance, opts: { login: LoginService; publicUrl: string }) {
  const { login, publicUrl } = opts;

  async function fail(request: FastifyRequest, reply: FastifyReply, failure: LoginFailure) {
    // The log keeps the (already cut) message for operators; the audit row keeps only codes.
    request.log.info({ reason: failure.reason, detail: failure.message }, 'sign-in failed');
    await login.recordFailure(failure, request.ip);
    // No session survives a failed sign-in (THREATS.md 31).
    await request.session.destroy();
    return reply
      .status(failure.statusCode)
      .type('text/html')
      .header('cache-control', 'no-store')
      .send(loginFailedPage(failure.message));
  }

  app.get(
    '/auth/login',
    { schema: { querystring: Type.Object({ returnTo: Type.Optional(Type.String({ maxLength: 2048 })) }), hide: true } },
    async (request, reply) => {
      const { returnTo } = request.query as { returnTo?: string };
      try {
        const { authorizationUrl, pending } = await login.begin(safeReturnTo(returnTo, publicUrl));
        request.session.set('pendingLogin', pending);
        if (!request.session.get('createdAt')) request.session.set('createdAt', Date.now());
        return reply.header('cache-control', 'no-store').redirect(authorizationUrl, 302);
      } catch (error) {
        if (error instanceof LoginFailure) return fail(request, reply, error);
        throw error;
      }
    },
  );

  app.get('/auth/callback', { schema: { hide: true } }, async (request, reply) => {
    const pending = request.session.get('pendingLogin');
    // Consume the pending login before anything else, so a replayed callback finds none.
    request.session.set('pendingLogin', undefined);
    // The URL the provider redirected to, rebuilt from PUBLIC_URL and never from the Host header.
    const callbackUrl = new URL(request.url, publicUrl);
    try {
      const completed = await login.complete(callbackUrl, pending, request.ip);
      // A new session id at login, so an id planted before it is worthless (THREATS.md 34).
      await request.session.regenerate();
      request.session.set('createdAt', Date.now());
      request.session.set('user', completed.user);
      if (completed.idToken) request.session.set('idToken', completed.idToken);
      // Checked again on the way out: the stored value is ours, but the redirect is where it matters.
      return reply.header('cache-control', 'no-store').redirect(safeReturnTo(completed.returnTo, publicUrl), 303);
    } catch (error) {
      if (error instanceof LoginFailure) return fail(request, reply, error);
      throw error;
    }
  });

  app.post('/auth/logout', { schema: { response: { 200: Type.Object({ redirectTo: Type.String() }) } } }, async (request) => {
    const user = request.user;
    const idToken = request.session.get('idToken');
    await request.session.destroy();
    return login.logout(user, idToken, request.ip);
  });

  // Signing out takes a POST: a link or an image pointing here must change nothing (THREATS.md 35).
  app.get('/auth/logout', { schema: { hide: true } }, async (_request, reply) =>
    reply.status(405).header('allow', 'POST').send(errorBody('method_not_allowed', 'Sign out with POST /auth/logout.')),
  );

  app.get(
    '/api/me',
    { preHandler: requireRole('viewer'), schema: { response: { 200: Type.Object({ user: UserSchema }) } } },
    async (request) => ({ user: request.user! }),
  );
}
