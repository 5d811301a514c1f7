// Wires the one scheduler into the app: decorated as app.scheduler so features define their jobs while
// they register, started once the app is ready and stopped (jobs in hand finished) before it closes.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Clock } from 'pg-boss';
import { Scheduler } from './scheduler.js';

declare module 'fastify' {
  interface FastifyInstance {
    scheduler: Scheduler;
  }
}

export interface SchedulerPluginOptions {
  connectionString: string;
  /** Tests only: pg-boss's TestClock, to speed time. */
  clock?: Clock;
  instanceName?: string;
}

export const schedulerPlugin = fp(async function scheduler(app: FastifyInstance, opts: SchedulerPluginOptions) {
  const scheduler = new Scheduler({
    connectionString: opts.connectionString,
    enabled: app.config.scheduler.enabled,
    clock: opts.clock,
    instanceName: opts.instanceName,
    onError: (error) => app.log.error({ err: error }, 'scheduler error'),
    onJobFailed: (job, error) => app.log.warn({ err: error, job }, 'scheduled job failed'),
  });
  app.decorate('scheduler', scheduler);
  app.addHook('onReady', async () => {
    await scheduler.start();
    app.log.info({ enabled: scheduler.enabled }, 'scheduler started');
  });
  app.addHook('preClose', async () => {
    await scheduler.stop();
  });
});
