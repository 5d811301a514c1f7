// Wires background runs into the app (app.backgroundRuns for POST /api/runs {"background": true}), their
// routes, and the forgetting of old run records on the scheduler (results expire in the result store).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { backgroundRunRoutes } from './routes.js';
import { deleteOldBackgroundRuns } from './repository.js';
import { BackgroundRuns } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    backgroundRuns: BackgroundRuns;
  }
}

const FORGET_CRON = '23,53 * * * *';

export const backgroundRunsPlugin = fp(async function backgroundRuns(app: FastifyInstance) {
  const service = new BackgroundRuns({
    db: app.toolsDb,
    runs: app.runService,
    results: app.results,
    queries: () => app.queries,
    options: app.config.background,
    log: app.log,
  });
  app.decorate('backgroundRuns', service);
  app.scheduler.defineRecurring({
    name: 'background-runs.forget',
    cron: FORGET_CRON,
    run: async () => {
      await deleteOldBackgroundRuns(app.toolsDb);
    },
  });
  await app.register(backgroundRunRoutes, { background: service });
});
