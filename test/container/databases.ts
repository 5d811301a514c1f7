// The databases the container runs against, on the host's PostgreSQL, shaped like the deployment's:
// a tools database created by an RDS-like master user (CREATEROLE, CREATEDB, not a superuser) and
// described by Secrets Manager-style JSON documents, and a demo main database with its reader role.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';
import { provisionDemoMainDatabase } from '../../schema/provision.js';

export const randomSecret = (): string => randomBytes(36).toString('base64url');

/** What Secrets Manager keeps for a database user (rds.DatabaseSecret attached to an instance). */
export interface DatabaseSecretDocument {
  username: string;
  password: string;
  host: string;
  port: number;
  dbname?: string;
  engine: 'postgres';
}

export interface TestDatabases {
  tools: { admin: DatabaseSecretDocument; owner: DatabaseSecretDocument; app: DatabaseSecretDocument };
  mainUrl: string;
  drop(): Promise<void>;
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function createTestDatabases(adminUrl: string, suffix: string): Promise<TestDatabases> {
  const server = new URL(adminUrl);
  const at = { host: server.hostname, port: Number(server.port || 5432), engine: 'postgres' as const };
  const toolsDatabase = `porthole_ct_tools_${suffix}`;
  const tools = {
    // RDS's generated master secret: no database name of ours in it.
    admin: { ...at, username: `porthole_ct_admin_${suffix}`, password: randomSecret() },
    owner: { ...at, username: `porthole_ct_owner_${suffix}`, password: randomSecret(), dbname: toolsDatabase },
    app: { ...at, username: `porthole_ct_app_${suffix}`, password: randomSecret(), dbname: toolsDatabase },
  };
  const id = pg.escapeIdentifier;
  // What RDS does at creation: a master user that may create roles and databases, and owns databaseName.
  await adminQuery(
    adminUrl,
    `create role ${id(tools.admin.username)} login createrole createdb password ${pg.escapeLiteral(tools.admin.password)}`,
  );
  await adminQuery(adminUrl, `create database ${id(toolsDatabase)} owner ${id(tools.admin.username)}`);

  const main = { database: `porthole_ct_main_${suffix}`, reader: `porthole_ct_reader_${suffix}` };
  const { readerUrl } = await provisionDemoMainDatabase(adminUrl, {
    database: main.database,
    readerRole: main.reader,
    readerPassword: randomSecret(),
    notifications: 2_000,
  });

  return {
    tools,
    mainUrl: readerUrl,
    drop: async () => {
      for (const database of [toolsDatabase, main.database])
        await adminQuery(adminUrl, `drop database if exists ${id(database)} with (force)`);
      for (const role of [tools.app.username, tools.owner.username, tools.admin.username, main.reader]) {
        // Other test suites on a shared server grant their databases' TEMPORARY to every login role
        // (reader-role.sql); DROP OWNED revokes such grants, which would otherwise block DROP ROLE.
        await adminQuery(
          adminUrl,
          `do $$ begin if exists (select from pg_roles where rolname = ${pg.escapeLiteral(role)}) then execute 'drop owned by ${id(role).replace(/'/g, "''")}'; end if; end $$`,
        );
        await adminQuery(adminUrl, `drop role if exists ${id(role)}`);
      }
    },
  };
}

/**
 * Whether the role's stored SCRAM-SHA-256 verifier was made from this password. The host's
 * PostgreSQL may trust local connections without checking passwords, so a successful login would
 * prove nothing about a rotation; the verifier does (RFC 5802: StoredKey = H(HMAC(SaltedPassword, "Client Key"))).
 */
export async function passwordMatches(adminUrl: string, role: string, password: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ verifier: string | null }>(
      'select rolpassword as verifier from pg_authid where rolname = $1',
      [role],
    );
    const match = rows[0]?.verifier?.match(/^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):/);
    if (!match) throw new Error(`${role} has no SCRAM-SHA-256 verifier`);
    const [, iterations, salt, storedKey] = match;
    const salted = pbkdf2Sync(password, Buffer.from(salt!, 'base64'), Number(iterations), 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    return createHash('sha256').update(clientKey).digest('base64') === storedKey;
  } finally {
    await client.end();
  }
}
