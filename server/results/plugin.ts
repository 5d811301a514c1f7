// Wires the result store into the app as app.results, and deletes expired entries on the scheduler
// (every five minutes, once across tasks).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ResultStore } from './store.js';

declare module 'fastify' {
  interface FastifyInstance {
    results: ResultStore;
  }
}

const EXPIRY_CRON = '*/5 * * * *';

export const resultsPlugin = fp(async function results(app: FastifyInstance) {
  const store = new ResultStore(app.toolsDb, app.audit, app.config.results);
  app.decorate('results', store);
  app.scheduler.defineRecurring({
    name: 'results.expire',
    cron: EXPIRY_CRON,
    run: async () => {
      await store.deleteExpired();
    },
  });
});
