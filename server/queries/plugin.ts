// Wires saved queries into the app: the service (decorated as app.queries for other features), its routes,
// and the engine's hook that resolves a saved query to run.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { queryRoutes } from './routes.js';
import { QueriesService } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    queries: QueriesService;
  }
}

export const queriesPlugin = fp(async function queries(app: FastifyInstance) {
  // A query may be saved only against a source its author may use (sources can be limited to groups).
  const service = new QueriesService(app.toolsDb, (user, id) => {
    const source = app.dataSources.get(id);
    return source !== undefined && app.dataSourceService.canUse(user, source);
  });
  app.decorate('queries', service);
  // POST /api/runs {queryId}: the engine asks us for the stored SQL, after our access checks (THREATS.md 27).
  app.runService.useSavedQueries((user, queryId, version, clientIp) => service.forRun(user, queryId, version, clientIp));
  await app.register(queryRoutes, { queries: service });
});
