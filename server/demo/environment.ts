// Demo mode: the embedded PostgreSQL with Porthole's tools DB and a seeded demo main DB. Loaded only when
// no TOOLS_DATABASE_URL is configured (never in production: config.ts refuses that combination).
import { provisionDemoMainDatabase, provisionToolsDatabase } from '../../schema/provision.js';
import type { Config } from '../config.js';
import { startEmbeddedCluster } from './embedded-cluster.js';

export interface DemoEnvironment {
  toolsDatabaseUrl: string;
  toolsMigrationUrl: string;
  mainDatabaseUrl: string;
  sessionSecret: string;
  stop(): Promise<void>;
}

export const DEMO_TOOLS_DATABASE = 'porthole_tools';
export const DEMO_MAIN_DATABASE = 'porthole_demo';

export async function startDemoEnvironment(config: Config, log: (message: string) => void): Promise<DemoEnvironment> {
  const cluster = await startEmbeddedCluster({ dir: config.dataDir, log });
  try {
    if (cluster.firstStart)
      log('First start: setting up databases and demo data. This takes about a minute; later starts take seconds.');
    const tools = await provisionToolsDatabase(cluster.adminUrl, {
      database: DEMO_TOOLS_DATABASE,
      ownerRole: 'porthole_owner',
      ownerPassword: cluster.secrets.ownerPassword,
      appRole: 'porthole_app',
      appPassword: cluster.secrets.appPassword,
    });
    const main = await provisionDemoMainDatabase(cluster.adminUrl, {
      database: DEMO_MAIN_DATABASE,
      readerRole: 'porthole_reader',
      readerPassword: cluster.secrets.readerPassword,
      notifications: config.demoNotifications,
      onProgress: log,
    });
    if (main.seeded) log('Demo data ready.');
    return {
      toolsDatabaseUrl: tools.appUrl,
      toolsMigrationUrl: tools.ownerUrl,
      mainDatabaseUrl: main.readerUrl,
      sessionSecret: config.sessionSecret ?? cluster.secrets.sessionSecret,
      stop: () => cluster.stop(),
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** The config with the demo's databases and secret filled in. */
export function withDemoSettings(config: Config, demo: DemoEnvironment): Config {
  return Object.freeze({
    ...config,
    toolsDatabaseUrl: demo.toolsDatabaseUrl,
    toolsMigrationUrl: demo.toolsMigrationUrl,
    mainDatabaseUrl: config.mainDatabaseUrl ?? demo.mainDatabaseUrl,
    sessionSecret: demo.sessionSecret,
  });
}
