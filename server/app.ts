// buildApp(deps) assembles the Fastify app from its plugins and feature routes. It never listens: main.ts
// does that, and tests drive the app with app.inject().
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Kysely } from 'kysely';
import type { Clock } from 'pg-boss';
import type { Database } from '../schema/database.js';
import { AuditReviewService } from './audit/review.service.js';
import { auditRoutes } from './audit/routes.js';
import { AuditLog } from './audit/service.js';
import { LoginService } from './auth/login.service.js';
import { OidcClient } from './auth/oidc-client.js';
import { perimeterPlugin } from './auth/perimeter.js';
import { authRateLimitPlugin } from './auth/rate-limit.js';
import { authRoutes } from './auth/routes.js';
import type { Config } from './config.js';
import type { DataSourceRegistry } from './data-sources/registry.js';
import type { ToolsDb } from './db/tools-db.js';
import { healthRoutes } from './health/routes.js';
import { anchorStoreFor, scheduleAuditIntegrity } from './audit/integrity-jobs.js';
import { integrityStatus } from './audit/integrity-status.js';
import { auditLogRewriteRisks } from './audit/serving-role-check.js';
import { enginePlugin } from './engine/plugin.js';
import { webRoot } from './lib/paths.js';
import { dashboardsPlugin } from './dashboards/plugin.js';
import { queriesPlugin } from './queries/plugin.js';
import { checksPlugin, type ChecksPluginOptions } from './checks/plugin.js';
import { schedulerPlugin } from './scheduler/plugin.js';
import { resultsPlugin } from './results/plugin.js';
import { bodyLimitPlugin } from './plugins/body-limit.js';
import { clientErrorHandler, errorsPlugin } from './plugins/errors.js';
import { metricsPlugin } from './plugins/metrics.js';
import { securityHeadersPlugin } from './plugins/security-headers.js';
import { sessionCookieName, sessionPlugin } from './plugins/session.js';
import { spaPlugin } from './plugins/spa.js';
import { tokensPlugin } from './tokens/plugin.js';
import { backgroundRunsPlugin } from './background/plugin.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    toolsDb: Kysely<Database>;
    audit: AuditLog;
    dataSources: DataSourceRegistry;
    /** Every route as registered, for the perimeter test that checks each /api route needs a session. */
    registeredRoutes: Array<{ method: string; url: string }>;
  }
}

export interface AppDeps {
  config: Config;
  toolsDb: ToolsDb;
  dataSources: DataSourceRegistry;
  logger?: FastifyServerOptions['logger'];
  /** Where the built web app lives; defaults to dist/web. */
  webRoot?: string;
  /** Tests only: pg-boss's TestClock for the scheduler, to speed time without bypassing it. */
  schedulerClock?: Clock;
  /** Names this task in the scheduler's instance registry. */
  instanceName?: string;
  /** Tests: the checks feature's resolver and retry timing. */
  checks?: ChecksPluginOptions;
}

/**
 * The largest request body: 1 MiB. The biggest thing a client sends is a query's content, whose SQL is
 * capped at MAX_SQL_LENGTH (100,000) characters: even with every character escaped (6 bytes in JSON) it
 * fits, with room for the name, description, variables and chart. Larger bodies get 413 payload_too_large.
 */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export const REDACTED_LOG_PATHS = ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'];

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  if (!config.oidc || !config.sessionSecret || !config.toolsDatabaseUrl)
    throw new Error(
      'buildApp needs config.oidc, config.sessionSecret and config.toolsDatabaseUrl (demo mode fills them in main.ts)',
    );
  const app = Fastify({
    logger: deps.logger ?? false,
    genReqId: () => randomUUID(),
    trustProxy: config.trustProxy,
    bodyLimit: BODY_LIMIT_BYTES,
    // While closing, errorsPlugin answers 503 server_stopping in our shape (Fastify's own body is not).
    return503OnClosing: false,
    clientErrorHandler,
    // Run parameters are typed as a list of JSON types per level (server/engine/run-params.ts); without
    // this Ajv's strict mode prints a warning for each at every start.
    ajv: { customOptions: { allowUnionTypes: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('registeredRoutes', []);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) app.registeredRoutes.push({ method, url: route.url });
  });
  app.decorate('config', config);
  app.decorate('toolsDb', deps.toolsDb.db);
  app.decorate('audit', new AuditLog(deps.toolsDb.db));
  app.decorate('dataSources', deps.dataSources);

  await app.register(errorsPlugin);
  await app.register(bodyLimitPlugin, { limit: BODY_LIMIT_BYTES });
  await app.register(securityHeadersPlugin, { https: config.publicUrl.startsWith('https:') });
  await app.register(metricsPlugin, {
    token: config.metricsToken,
    pools: () => ({
      tools: deps.toolsDb.pool,
      ...Object.fromEntries(deps.dataSources.pools()),
    }),
    auditChainOk: async () => ((await integrityStatus(deps.toolsDb.db)).ok ? 1 : 0),
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Porthole API', version: '0.1.0' },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          sessionCookie: { type: 'apiKey', in: 'cookie', name: sessionCookieName(config.publicUrl) },
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'A personal access token (pht_ and 40 letters and digits), from /settings/tokens',
          },
          csvKey: { type: 'apiKey', in: 'query', name: 'key', description: 'A CSV link key (phc_…), on its CSV route only' },
        },
      },
      security: [{ sessionCookie: [] }, { bearerAuth: [] }],
    },
  });

  // Before the features that define jobs on it (sessions first).
  await app.register(schedulerPlugin, {
    connectionString: config.toolsDatabaseUrl,
    clock: deps.schedulerClock,
    instanceName: deps.instanceName,
  });
  // Before any route, so every /auth/* route registered later gets the limit.
  await app.register(authRateLimitPlugin, { perMinute: config.authRateLimitPerMinute });
  await app.register(sessionPlugin, { config, db: deps.toolsDb.db });
  await app.register(tokensPlugin); // before the perimeter: a Bearer token is the request's principal
  await app.register(perimeterPlugin, { publicUrl: config.publicUrl });

  scheduleAuditIntegrity(app, anchorStoreFor(deps.toolsDb.db, config.auditAnchorBucket));
  await app.register(enginePlugin);
  await app.register(healthRoutes, {
    toolsPool: deps.toolsDb.pool,
    dataSources: deps.dataSources,
    dataSourceService: app.dataSourceService,
    auditLogRisks: () => auditLogRewriteRisks(deps.toolsDb.db),
    production: config.nodeEnv === 'production',
  });
  await app.register(resultsPlugin);
  await app.register(queriesPlugin);
  await app.register(checksPlugin, deps.checks ?? {});
  await app.register(backgroundRunsPlugin);
  await app.register(dashboardsPlugin);
  const login = new LoginService({
    db: deps.toolsDb.db,
    audit: app.audit,
    oidc: new OidcClient(config.oidc, config.publicUrl),
    config,
  });
  await app.register(authRoutes, { login, publicUrl: config.publicUrl });
  await app.register(auditRoutes, { review: new AuditReviewService({ db: deps.toolsDb.db, audit: app.audit }) });
  app.get('/api/docs', { schema: { hide: true } }, async () => app.swagger());

  await app.register(spaPlugin, { root: deps.webRoot ?? webRoot });
  return app;
}
