// Wires checks into the app: the outbound policy, the mailer, the runner and services, the routes, and
// the scheduler's jobs: `checks.dispatch` every minute (one task per minute claims due checks),
// `checks.run` (one job per check and slot) and `checks.deliver` (one job per recipient, retried with
// backoff).
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { DestinationsService } from './destinations.service.js';
import { outboxMailer, smtpMailer, type Mailer } from './mailer.js';
import { Notifier, type DeliveryJob } from './notifier.js';
import { OutboundPolicy, type Resolver } from './outbound.js';
import { checkRoutes } from './routes.js';
import { CheckRunner, DELIVER_QUEUE } from './runner.js';
import { ChecksService, RUN_QUEUE } from './service.js';

export interface ChecksPluginOptions {
  /** Tests: resolve host names without DNS (e.g. a name that resolves to 10.x). */
  resolver?: Resolver;
  /** Tests: seconds before a failed delivery is retried (default 30, doubled each time). */
  deliveryRetryDelaySeconds?: number;
  /** Tests: trust this CA (PEM) for https receivers, a throwaway one made by the test. */
  tlsCa?: string;
  /** Tests: write emails to this folder as demo mode does (demo mode uses <dataDir>/outbox). */
  outboxDir?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    checks: ChecksService;
  }
}

export function outboxDir(dataDir: string): string {
  return path.resolve(dataDir, 'outbox');
}

export const checksPlugin = fp(async function checks(app: FastifyInstance, opts: ChecksPluginOptions) {
  const { config } = app;
  const outbound = new OutboundPolicy({
    allowedHosts: config.alerts.webhookAllowedHosts,
    httpsOnly: config.nodeEnv === 'production',
    proxy: config.alerts.egressProxy,
    resolver: opts.resolver,
    ca: opts.tlsCa,
  });
  let mailer: Mailer | undefined;
  // Demo mode writes emails to .porthole/outbox/ (and the check page links to each); SMTP_URL wins.
  const outbox = opts.outboxDir ?? (config.demo ? outboxDir(config.dataDir) : undefined);
  if (config.alerts.smtpUrl) mailer = smtpMailer(config.alerts.smtpUrl, config.alerts.from);
  else if (outbox) mailer = outboxMailer(outbox, config.alerts.from);
  const notifier = new Notifier(app.toolsDb, outbound, mailer);
  const runner = new CheckRunner({
    db: app.toolsDb,
    audit: app.audit,
    runs: app.runService,
    queries: app.queries,
    scheduler: app.scheduler,
    log: app.log,
    publicUrl: config.publicUrl,
    includeRows: config.alerts.includeRows,
  });
  const service = new ChecksService(app.toolsDb, app.audit, app.queries, runner);
  const destinations = new DestinationsService(app.toolsDb, app.audit, outbound, notifier, config.publicUrl);
  app.decorate('checks', service);

  app.scheduler.defineRecurring({
    name: 'checks.dispatch',
    cron: '* * * * *',
    retryLimit: 0,
    run: async (slot) => {
      await service.dispatchDue(new Date(Math.max(slot.getTime(), Date.now())), async (checkId, due) => {
        await app.scheduler.send(
          RUN_QUEUE,
          { checkId, slot: due.toISOString() },
          { singletonKey: `${checkId}@${due.toISOString()}` },
        );
      });
    },
  });
  app.scheduler.defineQueue<{ checkId: string; slot: string }>({
    name: RUN_QUEUE,
    // A run that dies with its task is retried elsewhere; check_runs' (check, slot) key keeps it once.
    retryLimit: 1,
    retryDelaySeconds: 5,
    concurrency: 4,
    run: async (job) => {
      await runner.run(job.data.checkId, { kind: 'schedule', slot: new Date(job.data.slot) });
    },
  });
  app.scheduler.defineQueue<DeliveryJob>({
    name: DELIVER_QUEUE,
    retryLimit: 4,
    retryDelaySeconds: opts.deliveryRetryDelaySeconds ?? 30,
    retryBackoff: true,
    concurrency: 4,
    run: async (job) => {
      await notifier.deliver(job.data, job.attempt + 1);
    },
  });
  app.addHook('onClose', async () => mailer?.close());

  await app.register(checkRoutes, {
    checks: service,
    destinations,
    outboxDir: mailer && !config.alerts.smtpUrl ? outbox : undefined,
  });
});
