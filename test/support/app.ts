// Builds the real app on fresh test databases, for app.inject() tests.
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { buildApp, type AppDeps } from '../../server/app.js';
import { loadConfig, type Config } from '../../server/config.js';
import { createDataSourceRegistry } from '../../server/data-sources/registry.js';
import { connectToolsDb } from '../../server/db/tools-db.js';
import { demoMainTiers } from '../../server/demo/environment.js';
import { createMainDatabase, createToolsDatabase, type TestMainDatabase, type TestToolsDatabase } from './databases.js';

export const TEST_SESSION_SECRET = 'test-only-9f2c7e1ab84d4c6e8a3b5d7f0e2c4a6b8d';

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  tools: TestToolsDatabase;
  main: TestMainDatabase;
  close(): Promise<void>;
}

/**
 * With { tiers: true } the main source has the demo's tiers: standard, and pii for the group `support`.
 * `servers`: superuser URLs of other PostgreSQL servers for the tools DB and the main DB than the run's
 * shared one (the fault tests in test/faults/ stop and start their own).
 * `checks` passes the checks feature's test options (resolver, retry timing) to buildApp; `logger`: the
 * app's pino settings (tests that read what the server logs pass a destination stream).
 */
export async function startTestApp(
  env: Record<string, string> = {},
  options: {
    tiers?: boolean;
    logger?: FastifyServerOptions['logger'];
    servers?: { tools?: string; main?: string };
  } & Pick<AppDeps, 'checks'> = {},
): Promise<TestApp> {
  const [tools, main] = await Promise.all([
    createToolsDatabase({ server: options.servers?.tools }),
    createMainDatabase({ tiers: options.tiers, server: options.servers?.main }),
  ]);
  const loaded = loadConfig({
    NODE_ENV: 'test',
    TOOLS_DATABASE_URL: tools.appUrl,
    TOOLS_MIGRATION_URL: tools.ownerUrl,
    MAIN_DATABASE_URL: main.readerUrl,
    SESSION_SECRET: TEST_SESSION_SECRET,
    OIDC_ISSUER_URL: 'http://127.0.0.1:1/unused',
    OIDC_CLIENT_ID: 'porthole-test',
    OIDC_CLIENT_SECRET: 'unused-in-this-test',
    // Functional tests sign in many times from one loopback address; test/auth/unauthenticated.test.ts
    // checks the limit itself.
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    ...env,
  });
  const config: Config = main.pii ? Object.freeze({ ...loaded, mainSourceTiers: demoMainTiers(main.pii.url) }) : loaded;
  const toolsDb = connectToolsDb(tools.appUrl);
  const dataSources = createDataSourceRegistry(config);
  const app = await buildApp({ config, toolsDb, dataSources, checks: options.checks, logger: options.logger });
  await app.ready();
  return {
    app,
    config,
    tools,
    main,
    close: async () => {
      await app.close();
      await toolsDb.close();
      await dataSources.close();
      await Promise.all([tools.drop(), main.drop()]);
    },
  };
}
