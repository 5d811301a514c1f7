// Wires dashboards into the app: the service, its routes, and the result cache in the run path (a card's
// run is POST /api/runs {queryId, params, dashboardId}: the engine checks the card against the dashboard,
// records the dashboard on the run's audit events, and the dashboard's max age applies, else the query's).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { RunCache } from '../results/run-cache.js';
import { dashboardRoutes } from './routes.js';
import { DashboardsService } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    dashboards: DashboardsService;
  }
}

export const dashboardsPlugin = fp(async function dashboards(app: FastifyInstance) {
  const service = new DashboardsService(app.toolsDb, app.queries);
  app.decorate('dashboards', service);
  app.runService.useDashboardCards((user, dashboardId, queryId) => service.cardForRun(user, dashboardId, queryId));
  app.runService.useResultCache(new RunCache(app.toolsDb, app.results, app.log));
  await app.register(dashboardRoutes, { dashboards: service });
});
