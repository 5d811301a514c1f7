// Helpers for the dashboard tests: create dashboards through the real API, and a second app instance on
// the same tools and main databases (two Porthole tasks behind one load balancer).
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/app.js';
import { createDataSourceRegistry } from '../../server/data-sources/registry.js';
import { connectToolsDb } from '../../server/db/tools-db.js';
import type { TestApp } from '../support/app.js';
import type { SignedIn } from '../support/auth.js';
import { call, expectStatus } from '../queries/support.js';

export interface DashboardBody {
  id: string;
  url: string;
  currentVersion: number;
  visibility: 'team' | 'private';
  locked: boolean;
  archivedAt: string | null;
  version: {
    version: number;
    name: string;
    description: string;
    variables: Array<{ name: string; kind: string; default: string | null }>;
    refreshSeconds: number | null;
    cacheMaxAgeSeconds: number;
    cards: Array<Record<string, unknown> & { id: string; queryId: string }>;
    restoredFrom: number | null;
  };
  cardQueries: Record<
    string,
    { id: string; name: string; url: string; chart: unknown; variables: Array<{ name: string }> } | null
  >;
  permissions: Record<string, boolean>;
}

export function card(id: string, queryId: string, fields: Record<string, unknown> = {}) {
  return { id, queryId, queryVersion: null, title: null, display: 'table', x: 0, y: 0, w: 6, h: 4, variableMap: {}, ...fields };
}

export function createDashboard(t: TestApp, who: SignedIn, fields: Record<string, unknown> = {}): Promise<DashboardBody> {
  return expectStatus<DashboardBody>(call(t, who, 'POST', '/api/dashboards', { name: 'A dashboard', ...fields }), 201);
}

/** Another task: its own app, pools and RunService, on the same databases. */
export async function secondInstance(t: TestApp): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  const toolsDb = connectToolsDb(t.tools.appUrl);
  const dataSources = createDataSourceRegistry(t.config);
  const app = await buildApp({ config: t.config, toolsDb, dataSources });
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await toolsDb.close();
      await dataSources.close();
    },
  };
}
