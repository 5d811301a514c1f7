// Wires background runs into the app (app.backgroundRuns for POST /api/runs {"background": true}), their
// routes, and the periodic forgetting of old run records (results expire in the result store).
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

const SWEEP_INTERVAL_MS = 30 * 60_000;

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
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    const sweep = () =>
      void deleteOldBackgroundRuns(app.toolsDb).catch((error: unknown) =>
        app.log.warn({ err: error }, 'forgetting old background runs failed'),
      );
    timer = setInterval(sweep, SWEEP_INTERVAL_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => clearInterval(timer));
  await app.register(backgroundRunRoutes, { background: service });
});
