// The entry point: read the config, start the demo's embedded services when no database is configured,
// migrate, listen, and shut everything down cleanly on SIGINT/SIGTERM.
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { readDataSourcesFile } from './data-sources/config-file.js';
import { createDataSourceRegistry } from './data-sources/registry.js';
import { migrateToolsDb } from './db/migrate.js';
import { connectToolsDb } from './db/tools-db.js';
import { PORTHOLE_VERSION } from './lib/paths.js';
import { loggerOptions } from './logger.js';

const say = (message: string) => process.stdout.write(`porthole: ${message}\n`);

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
    // DATA_SOURCES_FILE is checked now, so its problems stop the start before anything is running.
    if (config.dataSourcesFile) readDataSourcesFile(config.dataSourcesFile);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const cleanups: Array<() => Promise<void>> = [];
  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) {
      say(`${signal} again: exiting now`);
      process.exit(1);
    }
    shuttingDown = true;
    say(`${signal}: shutting down`);
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => say(`cleanup failed: ${String(error)}`));
    say('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

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
  });
  if (migration.applied.length) say(`migrations applied: ${migration.applied.join(', ')}`);
  if (!config.toolsMigrationUrl) {
    say('warning: TOOLS_MIGRATION_URL is not set, so the serving role owns the audit table and could disable its triggers');
  }

  const toolsDb = connectToolsDb(config.toolsDatabaseUrl!);
  cleanups.push(() => toolsDb.close());
  const dataSources = createDataSourceRegistry(config);
  cleanups.push(() => dataSources.close());

  const app = await buildApp({ config, toolsDb, dataSources, logger: loggerOptions(config) });
  cleanups.push(() => app.close());
  await app.listen({ host: config.host, port: config.port });
  await app.audit.record({
    action: 'system.started',
    details: { demo: config.demo, version: PORTHOLE_VERSION },
  });
  say(`ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s on ${config.publicUrl}${config.demo ? ' (demo)' : ''}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`porthole: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
