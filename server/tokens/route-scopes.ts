// Which /api routes an API token may call, and with which scope. Reviewed list, like the perimeter's:
// a route missing here is session-only (tokens get 403 token_not_allowed), so a new route is closed to
// tokens until someone decides otherwise and writes the reason. Roles still apply on top: a scope never
// lets a token past a route's requireRole() or a service's access check.
import type { Scope } from '../auth/principal.js';

/** Any one of the scopes is enough; 'any' accepts every personal token. */
export type RouteScope = readonly Scope[] | 'any';

export const CSV_LINK_ROUTE = '/api/queries/:id/results.csv';

export const TOKEN_ROUTE_SCOPES: ReadonlyMap<string, RouteScope> = new Map<string, RouteScope>([
  // Who am I: lets a script check its token before doing anything.
  ['GET /api/me', 'any'],
  // Reading saved queries and what they run against.
  ['GET /api/data-sources', ['queries:read', 'sql:run']],
  ['GET /api/queries', ['queries:read']],
  ['GET /api/queries/:id', ['queries:read']],
  ['GET /api/queries/:id/versions', ['queries:read']],
  ['GET /api/queries/:id/versions/:version', ['queries:read']],
  ['GET /api/queries/:id/runs', ['queries:read']],
  // Writing SQL needs the schema.
  ['GET /api/data-sources/:id/schema', ['sql:run']],
  // Runs: the service decides between queries:run (saved query) and sql:run (free SQL) from the body.
  ['POST /api/runs', ['queries:run', 'sql:run']],
  ['POST /api/runs.csv', ['queries:run', 'sql:run']],
  ['POST /api/runs/:id/cancel', ['queries:run', 'sql:run']],
  ['GET /api/runs/background', ['queries:run', 'sql:run']],
  ['GET /api/runs/:id', ['queries:run', 'sql:run']],
  ['GET /api/runs/:id/result', ['queries:run', 'sql:run']],
  // Admins' review: the role check still requires admin.
  ['GET /api/runs/active', ['audit:read']],
  ['GET /api/audit', ['audit:read']],
  ['GET /api/audit.csv', ['audit:read']],
  ['GET /api/audit/verify', ['audit:read']],
  ['GET /api/audit/activity', ['audit:read']],
  ['GET /api/audit/:seq', ['audit:read']],
  // Not here on purpose: creating, editing, archiving or forking queries (no write scope exists yet), the
  // tokens routes (a token never mints or revokes tokens), /api/docs (public contract, read it signed in).
]);

/** The scopes that open `method url` to a token, or undefined when the route is session-only. */
export function routeScope(method: string, url: string | undefined): RouteScope | undefined {
  if (url === undefined) return undefined;
  return TOKEN_ROUTE_SCOPES.get(`${method === 'HEAD' ? 'GET' : method} ${url}`);
}
