// Wires the result store into the app as app.results, and deletes expired entries periodically (until
// the shared scheduler arrives; a delete of expired rows is safe to run on every task).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ResultStore } from './store.js';

declare module 'fastify' {
  interface FastifyInstance {
    results: ResultStore;
  }
}

const EXPIRY_INTERVAL_MS = 5 * 60_000;

export const resultsPlugin = fp(async function results(app: FastifyInstance) {
  const store = new ResultStore(app.toolsDb, app.audit, app.config.results);
  app.decorate('results', store);
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    const sweep = () =>
      void store.deleteExpired().catch((error: unknown) => app.log.warn({ err: error }, 'deleting expired results failed'));
    timer = setInterval(sweep, EXPIRY_INTERVAL_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => clearInterval(timer));
});
