// Creates databases and roles on a PostgreSQL server given superuser access. Demo mode and the test
// suite both use it, so the tests exercise exactly the roles and grants the demo runs with.
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { seedNotifyDemo } from './demo/notify-data.js';
import { runPsqlScript } from './sql-script.js';

export function databaseUrl(adminUrl: string, parts: { database: string; user?: string; password?: string }): string {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(parts.database)}`;
  if (parts.user !== undefined) url.username = encodeURIComponent(parts.user);
  if (parts.password !== undefined) url.password = encodeURIComponent(parts.password);
  return url.toString();
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'porthole-provision' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const ident = (name: string) => pg.escapeIdentifier(name);
const literal = (value: string) => pg.escapeLiteral(value);

async function ensureLoginRole(client: pg.Client, role: string, password: string, extra = ''): Promise<void> {
  const exists = await client.query('select 1 from pg_roles where rolname = $1', [role]);
  const verb = exists.rowCount ? 'alter' : 'create';
  await client.query(
    `${verb} role ${ident(role)} login password ${literal(password)} nosuperuser nocreatedb nocreaterole ${extra}`,
  );
}

async function ensureDatabase(client: pg.Client, database: string, owner?: string): Promise<boolean> {
  const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
  if (exists.rowCount) return false;
  await client.query(
    `create database ${ident(database)}${owner ? ` owner ${ident(owner)}` : ''} encoding 'UTF8' template template0`,
  );
  return true;
}

export interface ToolsDatabaseSpec {
  database: string;
  ownerRole: string;
  ownerPassword: string;
  appRole: string;
  appPassword: string;
}

/** The tools DB: owned by the migration role; the serving role may connect; nobody else may. */
export async function provisionToolsDatabase(
  adminUrl: string,
  spec: ToolsDatabaseSpec,
): Promise<{ ownerUrl: string; appUrl: string }> {
  await withClient(adminUrl, async (client) => {
    await ensureLoginRole(client, spec.ownerRole, spec.ownerPassword);
    await ensureLoginRole(client, spec.appRole, spec.appPassword, 'noinherit');
    await ensureDatabase(client, spec.database, spec.ownerRole);
    await client.query(`revoke all on database ${ident(spec.database)} from public`);
    await client.query(`grant connect on database ${ident(spec.database)} to ${ident(spec.appRole)}`);
  });
  await withClient(databaseUrl(adminUrl, { database: spec.database }), async (client) => {
    await client.query(`revoke create on schema public from public`);
    await client.query(`alter schema public owner to ${ident(spec.ownerRole)}`);
  });
  return {
    ownerUrl: databaseUrl(adminUrl, { database: spec.database, user: spec.ownerRole, password: spec.ownerPassword }),
    appUrl: databaseUrl(adminUrl, { database: spec.database, user: spec.appRole, password: spec.appPassword }),
  };
}

export interface MainDatabaseSpec {
  database: string;
  readerRole: string;
  readerPassword: string;
  /** rds-iam: the reader gets no password and rds_iam (schema/reader-role.sql); readerPassword is ignored. */
  readerAuth?: 'password' | 'rds-iam';
  notifications: number;
  onProgress?: (message: string) => void;
  /**
   * Access tiers (issue #13): the reader role above becomes the standard tier, without these columns,
   * and a second role from the same script reads everything.
   */
  tiers?: { piiRole: string; piiPassword: string; withheldColumns: string[] };
}

/** The demo's sensitive columns: recipients' addresses and numbers, team members' contact details. */
export const DEMO_SENSITIVE_COLUMNS = ['public.notifications.to', 'public.users.email_address', 'public.users.mobile_number'];

export const READER_ROLE_SCRIPT = new URL('./reader-role.sql', import.meta.url);

/** The demo main DB: notification-service data (seeded once) and the reader role from reader-role.sql. */
export async function provisionDemoMainDatabase(
  adminUrl: string,
  spec: MainDatabaseSpec,
): Promise<{ readerUrl: string; piiReaderUrl?: string; seeded: boolean }> {
  await withClient(adminUrl, (client) => ensureDatabase(client, spec.database));
  const mainAdminUrl = databaseUrl(adminUrl, { database: spec.database });
  const seeded = await withClient(mainAdminUrl, async (client) => {
    const present = await client.query(`select 1 from pg_tables where schemaname = 'public' and tablename = 'demo_meta'`);
    if (present.rowCount) return false;
    spec.onProgress?.(`Generating demo data: ${spec.notifications.toLocaleString('en-US')} notifications over 180 days…`);
    await seedNotifyDemo(client, { notifications: spec.notifications, anchor: new Date() });
    return true;
  });
  const script = await readFile(READER_ROLE_SCRIPT, 'utf8');
  const tiers = spec.tiers;
  await withClient(mainAdminUrl, async (client) => {
    if (tiers) {
      await runPsqlScript(client, script, {
        reader_role: tiers.piiRole,
        reader_password: tiers.piiPassword,
        reader_schemas: 'public',
      });
    }
    const iam = spec.readerAuth === 'rds-iam';
    await runPsqlScript(client, script, {
      reader_role: spec.readerRole,
      reader_password: iam ? '' : spec.readerPassword,
      reader_auth: iam ? 'rds-iam' : 'password',
      reader_schemas: 'public',
      withheld_columns: tiers ? tiers.withheldColumns.join(',') : '',
    });
  });
  return {
    readerUrl: databaseUrl(adminUrl, {
      database: spec.database,
      user: spec.readerRole,
      password: spec.readerAuth === 'rds-iam' ? undefined : spec.readerPassword,
    }),
    piiReaderUrl: tiers && databaseUrl(adminUrl, { database: spec.database, user: tiers.piiRole, password: tiers.piiPassword }),
    seeded,
  };
}
