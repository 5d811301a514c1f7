// Fresh databases and roles for one test file, on the run's PostgreSQL server, made with the same
// provisioning code as demo mode. Names carry a random suffix so files can run in parallel, and on a
// shared server (TEST_DATABASE_URL) everything is dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { migrateToolsDb } from '../../server/db/migrate.js';
import {
  databaseUrl,
  DEMO_SENSITIVE_COLUMNS,
  provisionDemoMainDatabase,
  provisionToolsDatabase,
} from '../../schema/provision.js';

export const adminUrl = (): string => inject('adminUrl');

const suffix = () => randomBytes(4).toString('hex');
const password = () => randomBytes(18).toString('base64url');

export async function adminQuery(
  sql: string,
  values?: unknown[],
  database?: string,
  server: string = adminUrl(),
): Promise<pg.QueryResult> {
  const url = database ? databaseUrl(server, { database }) : server;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

/**
 * Runs catalog-changing work one test file at a time: concurrent GRANT/REVOKE on the same database
 * (reader-role.sql grants TEMPORARY to every login role) fails with "tuple concurrently updated".
 */
async function serialized<T>(fn: () => Promise<T>, server: string = adminUrl()): Promise<T> {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock(7355608)');
    return await fn();
  } finally {
    await client.end(); // releases the lock
  }
}

/**
 * Drops a role after revoking what other databases granted it. reader-role.sql gives TEMPORARY back to
 * every login role of the database it runs in, so a main DB made by a parallel test file may name ours.
 */
async function dropRole(role: string, server: string): Promise<void> {
  const grants = await adminQuery(
    `select datname from pg_database d, aclexplode(d.datacl) acl join pg_roles r on r.oid = acl.grantee where r.rolname = $1`,
    [role],
    undefined,
    server,
  );
  for (const { datname } of grants.rows) {
    await adminQuery(
      `revoke all on database ${pg.escapeIdentifier(datname)} from ${pg.escapeIdentifier(role)}`,
      undefined,
      undefined,
      server,
    ).catch((error: { code?: string }) => {
      if (error.code !== '3D000') throw error; // that database was dropped meanwhile
    });
  }
  await adminQuery(`drop role if exists ${pg.escapeIdentifier(role)}`, undefined, undefined, server);
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

/**
 * A tools DB with owner and serving roles; migrated unless { migrate: false }. `server`: a superuser URL of
 * another PostgreSQL server than the run's shared one (the fault tests stop and start their own).
 */
export async function createToolsDatabase(options: { migrate?: boolean; server?: string } = {}): Promise<TestToolsDatabase> {
  const server = options.server ?? adminUrl();
  const id = suffix();
  const spec = {
    database: `porthole_tools_${id}`,
    ownerRole: `porthole_owner_${id}`,
    ownerPassword: password(),
    appRole: `porthole_app_${id}`,
    appPassword: password(),
  };
  const { ownerUrl, appUrl } = await serialized(() => provisionToolsDatabase(server, spec), server);
  if (options.migrate !== false) await migrateToolsDb({ toolsDatabaseUrl: appUrl, toolsMigrationUrl: ownerUrl });
  return {
    database: spec.database,
    ownerRole: spec.ownerRole,
    appRole: spec.appRole,
    ownerUrl,
    appUrl,
    adminUrl: databaseUrl(server, { database: spec.database }),
    drop: () =>
      serialized(async () => {
        await adminQuery(
          `drop database if exists ${pg.escapeIdentifier(spec.database)} with (force)`,
          undefined,
          undefined,
          server,
        );
        await dropRole(spec.appRole, server);
        await dropRole(spec.ownerRole, server);
      }, server),
  };
}

export interface TestMainDatabase {
  database: string;
  readerRole: string;
  readerUrl: string;
  /** With { tiers: true }: the pii tier's role, reading the demo's sensitive columns the reader above may not. */
  pii?: { role: string; url: string };
  adminUrl: string;
  drop(): Promise<void>;
}

/**
 * A demo main DB (small by default) with its reader role from schema/reader-role.sql; with { tiers: true }
 * the reader withholds the demo's sensitive columns and a pii reader reads everything, as in demo mode.
 */
export async function createMainDatabase(
  options: { notifications?: number; tiers?: boolean; server?: string } = {},
): Promise<TestMainDatabase> {
  const server = options.server ?? adminUrl();
  const id = suffix();
  const database = `porthole_main_${id}`;
  const readerRole = `porthole_reader_${id}`;
  const piiRole = `porthole_reader_pii_${id}`;
  const { readerUrl, piiReaderUrl } = await serialized(
    () =>
      provisionDemoMainDatabase(server, {
        database,
        readerRole,
        readerPassword: password(),
        notifications: options.notifications ?? 5_000,
        tiers: options.tiers ? { piiRole, piiPassword: password(), withheldColumns: DEMO_SENSITIVE_COLUMNS } : undefined,
      }),
    server,
  );
  return {
    database,
    readerRole,
    readerUrl,
    pii: piiReaderUrl ? { role: piiRole, url: piiReaderUrl } : undefined,
    adminUrl: databaseUrl(server, { database }),
    drop: () =>
      serialized(async () => {
        await adminQuery(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`, undefined, undefined, server);
        await dropRole(readerRole, server);
        if (options.tiers) await dropRole(piiRole, server);
      }, server),
  };
}
