// The entry point: read the config, start the demo's embedded services when no database is configured,
// migrate, listen, and shut everything down cleanly on SIGINT/SIGTERM.
import { buildApp } from './app.js';
import { AUDIT_LOG_FIX, auditLogRewriteRisks } from './audit/serving-role-check.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { readSourceDefinitions } from './data-sources/config-file.js';
import { createDataSourceRegistry, type DataSource } from './data-sources/registry.js';
import type { DataSourceService } from './data-sources/service.js';
import { migrateToolsDb } from './db/migrate.js';
import { describeDatabaseConnectionError } from './db/tls.js';
import { connectToolsDb } from './db/tools-db.js';
import { missingNodeFlags } from './lib/node-flags.js';
import { PORTHOLE_VERSION } from './lib/paths.js';
import { portIsFree } from './lib/ports.js';
import { loggerOptions } from './logger.js';

/** A reason not to start that the operator can act on: printed as one line, without a stack. */
class StartupRefusal extends Error {}

const say = (message: string) => process.stdout.write(`porthole: ${message}\n`);

// Whatever has started so far (embedded PostgreSQL, identity provider, pools, the server), stopped in reverse.
const cleanups: Array<() => Promise<void>> = [];
// Set by a signal; start-up steps still under way then fail against closed pools, which is not a failure.
let shuttingDown = false;
async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error) => say(`cleanup failed: ${String(error)}`));
}

/**
 * In production the main source must pass its self-check before Porthole serves anyone (DESIGN.md's
 * "startup refusal"): a role that can write stops the start with every problem listed. A source that cannot
 * be reached yet is not a refusal (it is retried; /readyz says so). Other sources may stay refused while the
 * server runs: /readyz names them and admins see why in the data sources list.
 */
async function refuseUnsafeMainSource(service: DataSourceService, main: DataSource | undefined): Promise<void> {
  if (!main) return;
  const result = await service.verify(main).catch(() => undefined);
  if (!result?.problems.length) return;
  throw new StartupRefusal(
    `data source "main" refused (NODE_ENV=production): its role "${result.role}" is not read-only:\n` +
      result.problems.map((problem) => `  - ${problem}`).join('\n') +
      '\nGive the main source a read-only role (see schema/reader-role.sql).',
  );
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
    // DATA_SOURCES_FILE is checked now, so its problems stop the start before anything is running.
    readSourceDefinitions(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const missingFlags = missingNodeFlags();
  if (missingFlags.length) {
    say(
      `warning: node was started without ${missingFlags.join(' ')} (see server/lib/node-flags.ts): expect a one-off ~600 MB memory spike once the SQL parser gets hot`,
    );
  }

  const shutdown = async (signal: string) => {
    if (shuttingDown) {
      say(`${signal} again: exiting now`);
      process.exit(1);
    }
    shuttingDown = true;
    say(`${signal}: shutting down`);
    await runCleanups();
    say('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGHUP', () => void shutdown('SIGHUP'));

  // Checked before anything starts, so a taken port is one clear line instead of a stack after a minute.
  if (!(await portIsFree(config.port, config.host))) {
    throw new StartupRefusal(`port ${config.port} on ${config.host} is taken (another Porthole?); set PORT to use another`);
  }
  // The demo's identity provider takes the port after PORT; checked now too, not after the PostgreSQL start.
  if (config.demo && !config.oidc && !(await portIsFree(config.port + 1, '127.0.0.1'))) {
    throw new StartupRefusal(
      `port ${config.port + 1} on 127.0.0.1 is taken: demo mode's identity provider listens on PORT + 1; set PORT to move both`,
    );
  }

  const startedAt = Date.now();
  if (config.demo) {
    say('demo mode: no TOOLS_DATABASE_URL set, starting the embedded PostgreSQL');
    const { startDemoEnvironment, withDemoSettings } = await import('./demo/environment.js');
    const demo = await startDemoEnvironment(config, say);
    cleanups.push(() => demo.stop());
    config = withDemoSettings(config, demo);
  }

  const migration = await migrateToolsDb({
    toolsDatabaseUrl: config.toolsDatabaseUrl!,
    toolsMigrationUrl: config.toolsMigrationUrl,
  }).catch((error: unknown) => {
    // A certificate that fails verification is an operator's fix: say which check failed, without a stack.
    const explained = describeDatabaseConnectionError(error, config.toolsMigrationUrl ?? config.toolsDatabaseUrl!);
    throw explained.startsWith('TLS:') ? new StartupRefusal(`the tools database: ${explained}`) : error;
  });
  if (migration.applied.length) say(`migrations applied: ${migration.applied.join(', ')}`);

  const toolsDb = connectToolsDb(config.toolsDatabaseUrl!);
  cleanups.push(() => toolsDb.close());
  const auditRisks = await auditLogRewriteRisks(toolsDb.db);
  if (auditRisks.length && config.nodeEnv === 'production') {
    throw new StartupRefusal(
      `the audit log could be rewritten by the server:\n  - ${auditRisks.join('\n  - ')}\n${AUDIT_LOG_FIX}`,
    );
  }
  for (const risk of auditRisks) say(`warning: ${risk}, so the audit log is not tamper-proof (refused when NODE_ENV=production)`);
  const dataSources = createDataSourceRegistry(config);
  cleanups.push(() => dataSources.close());

  const app = await buildApp({ config, toolsDb, dataSources, logger: loggerOptions(config) });
  cleanups.push(() => app.close());
  await app.ready();
  if (config.nodeEnv === 'production') await refuseUnsafeMainSource(app.dataSourceService, dataSources.get('main'));
  await app.listen({ host: config.host, port: config.port });
  await app.audit.record({
    action: 'system.started',
    details: { demo: config.demo, version: PORTHOLE_VERSION },
  });
  if (config.demo && config.oidc) {
    const { createDemoContent } = await import('./demo/content.js');
    if (await createDemoContent(app, config.oidc.issuerUrl))
      say('demo: example queries and the "Notification service health" dashboard created');
    const { seedDemoChecks } = await import('./demo/checks.js');
    if (await seedDemoChecks(app, config.oidc.issuerUrl)) say('demo checks created (their emails go to .porthole/outbox/)');
  }
  const mode = config.demo ? 'demo, ' : '';
  say(`ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s on ${config.publicUrl} (${mode}Node ${process.versions.node})`);
}

main().catch(async (error: unknown) => {
  if (shuttingDown) return;
  const detail =
    error instanceof StartupRefusal ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
  // tools_database_unavailable keeps the driver's own words (which address refused) as its cause.
  const cause = error instanceof Error && error.cause instanceof Error ? `\n  cause: ${error.cause.message}` : '';
  process.stderr.write(`porthole: failed to start: ${detail}${cause}\n`);
  await runCleanups();
  process.exit(1);
});
