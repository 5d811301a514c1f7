// API tokens in the request pipeline, registered after sessions and before the perimeter:
//  * `Authorization: Bearer pht_…` on /api authenticates the request as the token's user (the session
//    cookie, if any, is ignored and no cookie is sent back); anything else in that header is a 401;
//  * secrets are refused in query strings (they end up in logs and history), except a CSV link's
//    `key` on GET /api/queries/:id/results.csv;
//  * a token reaches only the routes route-scopes.ts opens, with one of the scopes listed there;
//  * every token request is recorded as token.used, with the token beside the user.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isTokenRequest, type Principal } from '../auth/principal.js';
import { AppError } from '../lib/errors.js';
import { answersError } from '../plugins/errors.js';
import { CSV_LINK_ROUTE, routeScope } from './route-scopes.js';
import { tokenRoutes } from './routes.js';
import { LOOKS_LIKE_SECRET } from './secrets.js';
import { TokensService } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    tokens: TokensService;
  }
}

/** Query-string names clients commonly use for credentials; refused on every /api route. */
const CREDENTIAL_PARAMS = new Set(['access_token', 'token', 'api_key', 'apikey', 'auth', 'bearer']);

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

/** The CSV key when this is the CSV link route; a 400 for any other credential in the query string. */
function queryStringCredential(request: FastifyRequest, query: string): string | undefined {
  const csvRoute = request.method === 'GET' && request.routeOptions.url === CSV_LINK_ROUTE;
  let key: string | undefined;
  for (const [name, value] of new URLSearchParams(query)) {
    if (csvRoute && name === 'key') {
      key = value;
      continue;
    }
    if (CREDENTIAL_PARAMS.has(name.toLowerCase()) || LOOKS_LIKE_SECRET.test(value) || LOOKS_LIKE_SECRET.test(name)) {
      throw new AppError(
        400,
        'token_in_query_string',
        'API tokens go in the Authorization header (Bearer), never in the URL. If this token was shared in a URL, revoke it.',
      );
    }
  }
  return key;
}

function checkRoute(request: FastifyRequest, principal: Principal): void {
  if (principal.auth.method !== 'token') return;
  const url = request.routeOptions.url;
  if (principal.auth.kind === 'csv_link') {
    if (request.method === 'GET' && url === CSV_LINK_ROUTE) return;
    throw new AppError(403, 'token_not_allowed', 'A CSV link key opens its CSV and nothing else.');
  }
  const scope = routeScope(request.method, url);
  if (scope === undefined) {
    throw new AppError(403, 'token_not_allowed', 'API tokens cannot use this route; it needs a signed-in session.');
  }
  if (scope === 'any') return;
  const granted = principal.auth.scopes;
  if (!scope.some((needed) => granted.includes(needed))) {
    throw new AppError(403, 'insufficient_scope', `This route needs an API token with the ${scope.join(' or ')} scope.`, {
      scopes: scope,
    });
  }
}

export const tokensPlugin = fp(async function tokens(app: FastifyInstance) {
  const service = new TokensService({
    db: app.toolsDb,
    // Resolved at call time: saved queries register after this plugin.
    canRunQuery: (user, queryId) => app.queries.forRun(user, queryId),
    rateLimitPerMinute: app.config.tokens.rateLimitPerMinute,
  });
  app.decorate('tokens', service);

  app.addHook('onRequest', async (request, reply) => {
    const [path, query = ''] = request.url.split('?', 2) as [string, string?];
    if (!isApiPath(path)) return;
    const csvKey = queryStringCredential(request, query);
    const header = request.headers.authorization;
    let secret: { value: string; kind: 'personal' | 'csv_link' };
    if (header !== undefined) {
      const bearer = /^Bearer +(\S+) *$/i.exec(header);
      if (!bearer) throw new AppError(401, 'invalid_token', 'Send the API token as `Authorization: Bearer pht_…`.');
      if (csvKey !== undefined) throw new AppError(400, 'invalid_request', 'Send a CSV link key or a Bearer token, not both.');
      secret = { value: bearer[1]!, kind: 'personal' };
    } else if (csvKey !== undefined) {
      secret = { value: csvKey, kind: 'csv_link' };
    } else {
      return;
    }
    let principal: Principal;
    try {
      principal = await service.authenticate(secret.value, secret.kind, request.ip);
    } catch (error) {
      const retryAfter = error instanceof AppError ? error.details?.retryAfterSeconds : undefined;
      if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
      throw error;
    }
    // The token decides who this is; a session cookie sent along is not consulted.
    request.user = principal;
    checkRoute(request, principal);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (!isTokenRequest(request.user)) return payload;
    reply.removeHeader('set-cookie'); // Bearer requests get no session
    const status = reply.statusCode;
    try {
      await app.audit.record({
        action: 'token.used',
        actor: request.user,
        outcome: status < 400 ? 'ok' : status === 401 || status === 403 || status === 404 ? 'denied' : 'error',
        clientIp: request.ip,
        details: { method: request.method, route: request.routeOptions.url ?? request.url.split('?', 1)[0], status },
      });
    } catch (error) {
      // An answer that is already an error (perhaps about this very database) goes out in our shape; a
      // success whose use could not be recorded is not sent (the error handler answers instead).
      if (!answersError(reply)) throw error;
      request.log.warn({ err: error }, 'token.used could not be recorded with an error answer');
    }
    return payload;
  });

  await app.register(tokenRoutes, { tokens: service });
});
