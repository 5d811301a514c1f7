// The web perimeter, applied to every request before any route runs:
//  * every /api route needs a session unless it is on PUBLIC_API_ROUTES (THREATS.md 28);
//  * state-changing requests must be JSON from our own origin (THREATS.md 37): a cross-site form or
//    text/plain POST can neither set a JSON content type nor forge Origin / Sec-Fetch-Site.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../lib/errors.js';

/**
 * /api routes reachable without a session. Reviewed list: adding one needs a reason written here.
 * (Health, readiness, metrics and /auth/* live outside /api.)
 */
export const PUBLIC_API_ROUTES: ReadonlySet<string> = new Set<string>([]);

/**
 * Routes outside /api, all reachable without a session. Reviewed list: adding one needs a reason here,
 * and test/auth/perimeter.test.ts fails on any route that is on neither list (static files of the built
 * web app aside).
 */
export const PUBLIC_ROUTES: Readonly<Record<string, string>> = {
  '/healthz': 'the load balancer and the container health check; answers {status} only',
  '/readyz': 'readiness for the orchestrator; names the checks, no data',
  '/metrics': 'Prometheus; needs Authorization: Bearer METRICS_TOKEN, 404 when unset (plugins/metrics.ts)',
  '/auth/login': 'starts the sign-in; rate-limited per address, pending logins capped and expiring',
  '/auth/callback': "the provider's redirect; rate-limited per address, failures stored as codes only",
  '/auth/logout': 'POST signs out (same-origin JSON only); GET answers 405; rate-limited per address',
};

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

function checkSameOriginJson(request: FastifyRequest, origin: string): void {
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new AppError(
      415,
      'unsupported_media_type',
      'Requests that change something must send a JSON body (Content-Type: application/json).',
    );
  }
  const requestOrigin = request.headers.origin;
  if (requestOrigin !== undefined && requestOrigin !== origin) {
    throw new AppError(403, 'cross_origin_request', 'This request came from another site and was refused.');
  }
  const fetchSite = request.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin') {
    throw new AppError(403, 'cross_origin_request', 'This request came from another site and was refused.');
  }
}

export const perimeterPlugin = fp(async function perimeter(app: FastifyInstance, opts: { publicUrl: string }) {
  const origin = new URL(opts.publicUrl).origin;
  app.addHook('onRequest', async (request) => {
    if (STATE_CHANGING.has(request.method)) checkSameOriginJson(request, origin);
    const path = request.url.split('?', 1)[0]!;
    if (isApiPath(path) && !request.user && !PUBLIC_API_ROUTES.has(request.routeOptions.url ?? '')) {
      throw new AppError(401, 'unauthenticated', 'Sign in to continue.');
    }
  });
});
