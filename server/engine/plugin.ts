// Wires the query engine into the app: the data-source service (access, self-check, schema) and the run
// service, their routes, the self-check at startup, the stale-run purge on the scheduler (every five
// minutes, once across tasks) and the cancel of this task's runs at shutdown.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { dataSourceRoutes } from '../data-sources/routes.js';
import { DataSourceService } from '../data-sources/service.js';
import { loadSqlParser } from './guard.js';
import { runRoutes } from './routes.js';
import { RunService, type RunOptions } from './runs.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    dataSourceService: DataSourceService;
    runService: RunService;
  }
}

const STALE_RUN_PURGE_CRON = '*/5 * * * *';

export const enginePlugin = fp(async function engine(app: FastifyInstance, opts: { runOptions?: Partial<RunOptions> }) {
  const dataSources = new DataSourceService(app.dataSources, app.toolsDb, app.config.engine, app.log);
  const runs = new RunService(app.toolsDb, app.audit, dataSources, app.log, {
    maxResultBytes: app.config.engine.maxResultBytes,
    ...opts.runOptions,
  });
  app.decorate('dataSourceService', dataSources);
  app.decorate('runService', runs);

  await loadSqlParser();
  app.addHook('onReady', async () => {
    dataSources.verifyAll();
  });
  // Closes the runs of tasks that died (run.abandoned); logged by the scheduler if it fails.
  app.scheduler.defineRecurring({
    name: 'runs.purge-stale',
    cron: STALE_RUN_PURGE_CRON,
    run: async () => {
      await runs.purgeStaleRuns();
    },
  });
  app.addHook('preClose', async () => {
    await runs.close();
  });

  await app.register(dataSourceRoutes, { dataSources });
  await app.register(runRoutes, { runs });
});
