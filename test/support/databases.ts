// Fresh databases and roles for one test file, on the run's PostgreSQL server, made with the same
// provisioning code as demo mode. Names carry a random suffix so files can run in parallel, and on a
// shared server (TEST_DATABASE_URL) everything is dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { migrateToolsDb } from '../../server/db/migrate.js';
import { databaseUrl, provisionDemoMainDatabase, provisionToolsDatabase } from '../../schema/provision.js';

export const adminUrl = (): string => inject('adminUrl');

const suffix = () => randomBytes(4).toString('hex');
const password = () => randomBytes(18).toString('base64url');

export async function adminQuery(sql: string, values?: unknown[], database?: string): Promise<pg.QueryResult> {
  const url = database ? databaseUrl(adminUrl(), { database }) : adminUrl();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

export interface TestToolsDatabase {
  database: string;
  ownerRole: string;
  appRole: string;
  ownerUrl: string;
  appUrl: string;
  /** Superuser URL to this database. */
  adminUrl: string;
  drop(): Promise<void>;
}

/** A tools DB with owner and serving roles; migrated unless { migrate: false }. */
export async function createToolsDatabase(options: { migrate?: boolean } = {}): Promise<TestToolsDatabase> {
  const id = suffix();
  const spec = {
    database: `porthole_tools_${id}`,
    ownerRole: `porthole_owner_${id}`,
    ownerPassword: password(),
    appRole: `porthole_app_${id}`,
    appPassword: password(),
  };
  const { ownerUrl, appUrl } = await provisionToolsDatabase(adminUrl(), spec);
  if (options.migrate !== false) await migrateToolsDb({ toolsDatabaseUrl: appUrl, toolsMigrationUrl: ownerUrl });
  return {
    database: spec.database,
    ownerRole: spec.ownerRole,
    appRole: spec.appRole,
    ownerUrl,
    appUrl,
    adminUrl: databaseUrl(adminUrl(), { database: spec.database }),
    drop: async () => {
      await adminQuery(`drop database if exists ${pg.escapeIdentifier(spec.database)} with (force)`);
      await adminQuery(`drop role if exists ${pg.escapeIdentifier(spec.appRole)}`);
      await adminQuery(`drop role if exists ${pg.escapeIdentifier(spec.ownerRole)}`);
    },
  };
}

export interface TestMainDatabase {
  database: string;
  readerRole: string;
  readerUrl: string;
  adminUrl: string;
  drop(): Promise<void>;
}

/** A demo main DB (small by default) with its reader role from schema/reader-role.sql. */
export async function createMainDatabase(options: { notifications?: number } = {}): Promise<TestMainDatabase> {
  const id = suffix();
  const database = `porthole_main_${id}`;
  const readerRole = `porthole_reader_${id}`;
  const { readerUrl } = await provisionDemoMainDatabase(adminUrl(), {
    database,
    readerRole,
    readerPassword: password(),
    notifications: options.notifications ?? 5_000,
  });
  return {
    database,
    readerRole,
    readerUrl,
    adminUrl: databaseUrl(adminUrl(), { database }),
    drop: async () => {
      await adminQuery(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
      await adminQuery(`drop role if exists ${pg.escapeIdentifier(readerRole)}`);
    },
  };
}
