// Issue "production hardening", item 3: IAM database authentication for the main database. The main
// source says MAIN_DATABASE_AUTH=rds-iam and has no password; Porthole signs a token with
// @aws-sdk/rds-signer for every new connection and sends it over verified TLS. The signing is real, with
// fake credentials; only AWS's side is simulated (test/support/rds-iam-endpoint.ts): an endpoint that
// recomputes the SigV4 signature, checks expiry, region, service, endpoint and user, and membership in
// rds_iam (granted by schema/reader-role.sql with reader_auth=rds-iam), then hands the connection to a
// real PostgreSQL.
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Signer } from '@aws-sdk/rds-signer';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { databaseUrl, provisionDemoMainDatabase, READER_ROLE_SCRIPT } from '../../schema/provision.js';
import { runPsqlScript } from '../../schema/sql-script.js';
import { buildApp } from '../../server/app.js';
import type { SessionUser } from '../../server/auth/guards.js';
import { loadConfig, type Config } from '../../server/config.js';
import { createDataSourceRegistry, createRdsIamPool, type DataSourceRegistry } from '../../server/data-sources/registry.js';
import { DataSourceService } from '../../server/data-sources/service.js';
import { describeDatabaseConnectionError } from '../../server/db/tls.js';
import { connectToolsDb, type ToolsDb } from '../../server/db/tools-db.js';
import { startEmbeddedCluster, type EmbeddedCluster } from '../../server/demo/embedded-cluster.js';
import { TEST_SESSION_SECRET, type TestApp } from '../support/app.js';
import { jsonHeaders, signIn } from '../support/auth.js';
import { makeTestCertificates, type TestCertificates } from '../support/certificates.js';
import { createMainDatabase, createToolsDatabase, type TestToolsDatabase } from '../support/databases.js';
import { freePort, serverMainArgs, startProcess, waitForHttp } from '../support/processes.js';
import { RdsIamEndpoint } from '../support/rds-iam-endpoint.js';

// Made-up credentials for the simulated endpoint (it only checks the signature): nothing AWS would issue.
const KEY_ID = 'porthole-test-key-id';
const SECRET = 'porthole-test-secret-access-key-0000000000';
const REGION = 'eu-west-2';
const READER = 'porthole_iam_reader';

describe('IAM database authentication for the main database', () => {
  let dir: string;
  let certs: TestCertificates;
  let cluster: EmbeddedCluster;
  let endpoint: RdsIamEndpoint;
  let tools: TestToolsDatabase;
  let toolsDb: ToolsDb;
  let config: Config;
  let registry: DataSourceRegistry;
  let app: FastifyInstance;
  /** How often Porthole asked for credentials to sign with: once per token. */
  let signings = 0;
  const credentials = async () => {
    signings++;
    return { accessKeyId: KEY_ID, secretAccessKey: SECRET };
  };

  const environment = (overrides: Record<string, string> = {}) => ({
    NODE_ENV: 'test',
    // The tools database is a plain local server here; it chose its own TLS mode, which DATABASE_CA_FILE keeps.
    TOOLS_DATABASE_URL: `${tools.appUrl}?sslmode=disable`,
    TOOLS_MIGRATION_URL: `${tools.ownerUrl}?sslmode=disable`,
    MAIN_DATABASE_AUTH: 'rds-iam',
    MAIN_DATABASE_URL: `postgres://${READER}@localhost:${endpoint.port}/app`,
    DATABASE_CA_FILE: certs.ca,
    AWS_REGION: REGION,
    SESSION_SECRET: TEST_SESSION_SECRET,
    OIDC_ISSUER_URL: 'http://127.0.0.1:1/unused',
    OIDC_CLIENT_ID: 'porthole-test',
    OIDC_CLIENT_SECRET: 'unused-in-this-test',
    ...overrides,
  });

  /** A direct login at the endpoint with a given password, over verified TLS: 'ok' or the server's message. */
  async function login(user: string, password: string): Promise<string> {
    const client = new pg.Client({
      host: 'localhost',
      port: endpoint.port,
      database: 'app',
      user,
      password,
      ssl: { ca: readFileSync(certs.ca, 'utf8') },
    });
    try {
      await client.connect();
      return 'ok';
    } catch (error) {
      return (error as Error).message;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  const sign = (
    options: { user?: string; host?: string; port?: number; region?: string; secret?: string; keyId?: string } = {},
  ) =>
    new Signer({
      hostname: options.host ?? 'localhost',
      port: options.port ?? endpoint.port,
      username: options.user ?? READER,
      region: options.region ?? REGION,
      credentials: { accessKeyId: options.keyId ?? KEY_ID, secretAccessKey: options.secret ?? SECRET },
    }).getAuthToken();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'porthole-rds-iam-'));
    await chmod(dir, 0o755);
    certs = await makeTestCertificates(dir);
    // The database behind the endpoint trusts members of rds_iam from loopback: the endpoint authenticated them.
    const hba = path.join(dir, 'pg_hba.conf');
    await writeFile(hba, 'host all +rds_iam 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n', { mode: 0o644 });
    cluster = await startEmbeddedCluster({
      dir: path.join(dir, 'cluster'),
      log: () => undefined,
      preferredPort: await freePort(),
      settings: { hba_file: hba },
    });
    // RDS has this role built in; here it is made once, as RDS would have it.
    const admin = new pg.Client({ connectionString: cluster.adminUrl });
    await admin.connect();
    await admin.query('create role rds_iam nologin');
    await admin.query(`create role plain_reader login password 'plain-reader-password'`);
    await admin.end();
    await provisionDemoMainDatabase(cluster.adminUrl, {
      database: 'app',
      readerRole: READER,
      readerPassword: '',
      readerAuth: 'rds-iam',
      notifications: 2_000,
    });
    endpoint = await new RdsIamEndpoint({
      upstream: { host: '127.0.0.1', port: cluster.port },
      adminUrl: cluster.adminUrl,
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey },
      keys: { [KEY_ID]: SECRET },
      region: REGION,
      host: 'localhost',
    }).listen();

    tools = await createToolsDatabase();
    config = loadConfig(environment());
    toolsDb = connectToolsDb(config.toolsDatabaseUrl!);
    registry = createDataSourceRegistry(config, {}, { awsCredentials: credentials });
    app = await buildApp({ config, toolsDb, dataSources: registry });
    await app.ready();
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await registry?.close();
    await toolsDb?.close();
    await tools?.drop();
    await endpoint?.close();
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the reader no password: reader-role.sql made it a member of rds_iam', async () => {
    const admin = new pg.Client({ connectionString: cluster.adminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ has_password: boolean; member: boolean }>(
        `select rolpassword is not null as has_password, pg_has_role(rolname, 'rds_iam', 'MEMBER') as member
         from pg_authid where rolname = $1`,
        [READER],
      );
      expect(rows).toEqual([{ has_password: false, member: true }]);
    } finally {
      await admin.end();
    }
    expect(config.mainDatabaseUrl).toBeUndefined();
    expect(config.mainDatabaseIam).toMatchObject({ host: 'localhost', user: READER, database: 'app', region: REGION });
  });

  it('reader-role.sql: a password reader leaves rds_iam, a missing password or rds_iam role stops it with the reason', async () => {
    const script = readFileSync(READER_ROLE_SCRIPT, 'utf8');
    const role = 'porthole_switching_reader';
    const onApp = async (url: string, fn: (client: pg.Client) => Promise<void>) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await fn(client);
      } finally {
        await client.end();
      }
    };
    const appUrl = databaseUrl(cluster.adminUrl, { database: 'app' });
    const member = async (client: pg.Client) =>
      (await client.query(`select pg_has_role($1, 'rds_iam', 'MEMBER') as m`, [role])).rows[0].m as boolean;
    await onApp(appUrl, async (client) => {
      await runPsqlScript(client, script, { reader_role: role, reader_auth: 'rds-iam', reader_schemas: 'public' });
      expect(await member(client)).toBe(true);
      await runPsqlScript(client, script, { reader_role: role, reader_password: 'back-to-a-password', reader_schemas: 'public' });
      expect(await member(client)).toBe(false);
      await expect(runPsqlScript(client, script, { reader_role: role, reader_schemas: 'public' })).rejects.toThrow(
        /give reader_password \(or reader_auth=rds-iam for IAM database authentication\)/,
      );
      await client.query('rollback'); // the script's transaction, aborted by the refusal
      await client.query(`drop owned by ${role}; drop role ${role}`);
    });
    // The run's shared server is plain PostgreSQL, without RDS's rds_iam role.
    const main = await createMainDatabase({ notifications: 1_000 });
    try {
      await onApp(main.adminUrl, async (client) => {
        await expect(
          runPsqlScript(client, script, { reader_role: role, reader_auth: 'rds-iam', reader_schemas: 'public' }),
        ).rejects.toThrow('reader_auth=rds-iam needs the rds_iam role, which only RDS and Aurora PostgreSQL have');
        await client.query('rollback');
        expect((await client.query('select 1 from pg_roles where rolname = $1', [role])).rowCount).toBe(0);
      });
    } finally {
      await main.drop();
    }
  });

  it('runs queries as the IAM user, signing a token for each new connection that the endpoint verifies', async () => {
    const editor = await signIn({ app, config } as TestApp, 'editor');
    const res = await app.inject({
      method: 'POST',
      url: '/api/runs',
      headers: jsonHeaders(editor, { app, config } as TestApp),
      payload: JSON.stringify({ dataSource: 'main', sql: 'select current_user as who, count(*) as n from notifications' }),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect((res.json() as { rows: unknown[][] }).rows).toEqual([[READER, '2000']]); // bigint count, as text

    // Three more connections than the pool holds idle: three new ones, three signings, three verified logins.
    const pool = registry.get('main')!.pool;
    const [signedBefore, loginsBefore, opened] = [signings, endpoint.logins.length, pool.totalCount];
    const clients = await Promise.all(Array.from({ length: pool.idleCount + 3 }, () => pool.connect()));
    try {
      expect(pool.totalCount - opened).toBe(3);
      for (const client of clients) expect((await client.query('select current_user as who')).rows[0].who).toBe(READER);
    } finally {
      for (const client of clients) client.release();
    }
    expect(signings - signedBefore).toBe(3);
    const logins = endpoint.logins.slice(loginsBefore);
    expect(logins.map((l) => [l.user, l.accepted, l.reason])).toEqual(Array(3).fill([READER, true, undefined]));
    for (const { token } of logins) {
      expect(token).toMatch(
        new RegExp(
          `^localhost:${endpoint.port}/\\?Action=connect&DBUser=${READER}&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${KEY_ID}%2F\\d{8}%2F${REGION}%2Frds-db%2Faws4_request&`,
        ),
      );
      expect(token).toContain('&X-Amz-Expires=900&');
    }
    expect(endpoint.logins.every((l) => l.accepted)).toBe(true);
  });

  it('signs a fresh token as time passes; the endpoint refuses one older than 15 minutes', async () => {
    const pool = createRdsIamPool(config.mainDatabaseIam!, 1, credentials);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const start = Date.now();
      const connectOnce = async () => {
        const client = await pool.connect();
        await client.query('select 1');
        client.release(true); // closed, so the next connect opens a new connection
        return endpoint.logins.at(-1)!;
      };
      const first = await connectOnce();
      vi.setSystemTime(start + 16 * 60_000);
      const later = await connectOnce();
      expect(first.accepted && later.accepted).toBe(true);
      expect(later.token).not.toBe(first.token);
      const minutes = (t: string) =>
        Date.UTC(+t.slice(0, 4), +t.slice(4, 6) - 1, +t.slice(6, 8), +t.slice(9, 11), +t.slice(11, 13)) / 60_000;
      expect(minutes(later.signedAt!) - minutes(first.signedAt!)).toBeGreaterThanOrEqual(15);
      // The first token, kept and replayed now, is refused: only a token signed per connection works.
      expect(await login(READER, first.token)).toBe(`PAM authentication failed for user "${READER}"`);
      expect(endpoint.logins.at(-1)).toMatchObject({ accepted: false, reason: 'expired' });
    } finally {
      vi.useRealTimers();
      await pool.end();
    }
  });

  it('is refused with a wrong secret, and the source says what to check', async () => {
    const wrong = createDataSourceRegistry(
      config,
      {},
      {
        awsCredentials: { accessKeyId: KEY_ID, secretAccessKey: 'not-the-secret-access-key-000000000000' },
      },
    );
    try {
      const service = new DataSourceService(wrong, toolsDb.db, config.engine, app.log);
      const main = wrong.get('main')!;
      await expect(service.verify(main)).rejects.toThrow(
        new RegExp(`refused the IAM token for "${READER}" \\(PAM authentication failed for user "${READER}"\\)`),
      );
      expect(endpoint.logins.at(-1)).toMatchObject({ user: READER, accepted: false, reason: 'signature does not match' });
      const adminUser: SessionUser = { id: 'admin', email: 'admin@example.com', name: 'Admin', role: 'admin', groups: [] };
      const [view] = service.list(adminUser);
      expect(view!.status).toBe('unreachable');
      expect(view!.problems[0]).toMatch(
        /rds-db:connect to dbuser:<DbiResourceId>\/porthole_iam_reader.*GRANT rds_iam TO porthole_iam_reader/,
      );
    } finally {
      await wrong.close();
    }
  });

  it('sends no token to a server whose certificate it cannot verify', async () => {
    const untrusting = createDataSourceRegistry(
      loadConfig(environment({ DATABASE_CA_FILE: certs.otherCa })),
      {},
      {
        awsCredentials: credentials,
      },
    );
    const [signedBefore, loginsBefore, refusedBefore] = [signings, endpoint.logins.length, endpoint.refusedBeforeLogin.length];
    try {
      const error = await untrusting
        .get('main')!
        .pool.query('select 1')
        .then(
          () => undefined,
          (failure: unknown) => failure,
        );
      expect(describeDatabaseConnectionError(error, `postgres://localhost:${endpoint.port}/app`)).toMatch(
        /^TLS: the certificate of the database at localhost is not signed by a CA in the configured bundle/,
      );
    } finally {
      await untrusting.close();
    }
    expect(signings).toBe(signedBefore);
    expect(endpoint.logins.length).toBe(loginsBefore);
    await vi.waitFor(() => expect(endpoint.refusedBeforeLogin.length).toBe(refusedBefore + 1));
  });

  it('(the simulated endpoint) refuses what AWS refuses: another user, endpoint, region or key, and users without rds_iam', async () => {
    const cases: Array<[string, string, string]> = [
      [READER, await sign({ user: 'someone_else' }), 'DBUser is someone_else, not porthole_iam_reader'],
      [READER, await sign({ port: 1 }), `signed for localhost:1, not localhost:${endpoint.port}`],
      [READER, await sign({ region: 'us-east-1' }), 'region us-east-1, not eu-west-2'],
      [READER, await sign({ keyId: 'unknown-test-key-id' }), 'unknown access key unknown-test-key-id'],
      [READER, (await sign()).replace(/X-Amz-Expires=900/, 'X-Amz-Expires=3600'), 'X-Amz-Expires 3600'],
      [READER, 'plain-reader-password', 'not a presigned URL'],
      ['plain_reader', await sign({ user: 'plain_reader' }), 'plain_reader is not a member of rds_iam'],
    ];
    for (const [user, token, reason] of cases) {
      expect(await login(user, token), reason).toBe(`PAM authentication failed for user "${user}"`);
      expect(endpoint.logins.at(-1)).toMatchObject({ user, accepted: false, reason });
    }
    expect(await login(READER, await sign())).toBe('ok');
    // A client that asks for no TLS never gets to send a password.
    const plain = await new pg.Client({ host: 'localhost', port: endpoint.port, user: READER, database: 'app', ssl: false })
      .connect()
      .then(
        () => 'connected',
        (error: Error) => error.message,
      );
    expect(plain).toMatch(/no encryption/);
  });

  it('starts in production with the credentials the SDK finds itself (here: the environment) and passes the self-check', async () => {
    const port = await freePort();
    const [loginsBefore] = [endpoint.logins.length];
    const server = startProcess(process.execPath, serverMainArgs(), {
      cwd: process.cwd(),
      env: {
        PATH: process.env.PATH,
        ...environment({
          NODE_ENV: 'production',
          PORT: String(port),
          PUBLIC_URL: 'https://porthole.example.com',
          OIDC_ISSUER_URL: 'https://login.example.com',
          SCHEDULER_ENABLED: 'false',
        }),
        AWS_ACCESS_KEY_ID: KEY_ID,
        AWS_SECRET_ACCESS_KEY: SECRET,
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000, server);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      const body = (await ready.json()) as { checks: Record<string, string> };
      expect(ready.status, JSON.stringify(body)).toBe(200);
      expect(body.checks['source:main']).toBe('ok');
      const fromServer = endpoint.logins.slice(loginsBefore);
      expect(fromServer.length).toBeGreaterThan(0);
      expect(fromServer.every((l) => l.user === READER && l.accepted)).toBe(true);
    } finally {
      server.signalGroup('SIGTERM');
      await server.exited;
    }
  }, 120_000);
});
