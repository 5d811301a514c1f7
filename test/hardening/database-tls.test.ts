// Issue "production hardening", item 2: verify-full TLS to a PostgreSQL whose certificate comes from a
// throwaway CA. With that CA (DATABASE_CA_FILE) the connection is encrypted and verified; with another CA,
// or to a host name the certificate does not carry, it fails and the message says which check failed.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDatabaseConnectionError, withDatabaseTls } from '../../server/db/tls.js';
import { startEmbeddedCluster, type EmbeddedCluster } from '../../server/demo/embedded-cluster.js';
import { freePort, serverMainArgs, startProcess } from '../support/processes.js';
import { TEST_SESSION_SECRET } from '../support/app.js';
import { makeTestCertificates } from '../support/certificates.js';

async function connectError(url: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('verify-full TLS to the databases', () => {
  let dir: string;
  let cluster: EmbeddedCluster;
  let plainUrl: string; // the superuser over 127.0.0.1, no TLS settings of its own
  const file = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'porthole-tls-'));
    await chmod(dir, 0o755);
    await makeTestCertificates(dir);
    cluster = await startEmbeddedCluster({
      dir: path.join(dir, 'cluster'),
      log: () => undefined,
      preferredPort: await freePort(),
      settings: {
        ssl: 'on',
        ssl_cert_file: file('server.pem'),
        ssl_key_file: file('server.key'),
        listen_addresses: '127.0.0.1,127.0.0.2',
      },
    });
    plainUrl = cluster.adminUrl;
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('connects with verify-full and the right CA, and the session is encrypted', async () => {
    const url = withDatabaseTls(plainUrl, file('ca.pem'));
    expect(new URL(url).searchParams.get('sslmode')).toBe('verify-full');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
      expect(rows[0].ssl).toBe(true);
    } finally {
      await client.end();
    }
  });

  it('refuses a server whose certificate another CA signed, and says so', async () => {
    const url = withDatabaseTls(plainUrl, file('other-ca.pem'));
    const error = await connectError(url);
    expect(error).toBeDefined();
    expect(describeDatabaseConnectionError(error, url)).toMatch(/is not signed by a CA in the configured bundle/);
  });

  it('refuses a host name the certificate does not carry, and says so', async () => {
    const url = withDatabaseTls(plainUrl.replace('@127.0.0.1:', '@127.0.0.2:'), file('ca.pem'));
    const error = await connectError(url);
    expect(error).toBeDefined();
    expect(describeDatabaseConnectionError(error, url)).toMatch(/does not name the host 127\.0\.0\.2/);
  });

  it('keeps a URL that chose its own sslmode', () => {
    const chosen = `${plainUrl}?sslmode=disable`;
    expect(withDatabaseTls(chosen, file('ca.pem'))).toBe(
      `${plainUrl}?sslmode=disable&sslrootcert=${encodeURIComponent(file('ca.pem'))}`,
    );
  });

  it('stops a start-up whose tools database fails verification with one line naming the check', async () => {
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(await freePort()),
      PUBLIC_URL: 'https://porthole.example.com',
      TOOLS_DATABASE_URL: plainUrl,
      MAIN_DATABASE_URL: plainUrl,
      DATABASE_CA_FILE: file('other-ca.pem'),
      SESSION_SECRET: TEST_SESSION_SECRET,
      OIDC_ISSUER_URL: 'https://login.example.com',
      OIDC_CLIENT_ID: 'porthole',
      OIDC_CLIENT_SECRET: 'unused-here',
    };
    const proc = startProcess(process.execPath, serverMainArgs(), {
      cwd: process.cwd(),
      env,
    });
    expect(await proc.exited, proc.output()).toBe(1);
    expect(proc.output()).toMatch(/failed to start: the tools database: TLS: .* not signed by a CA in the configured bundle/);
  }, 60_000);

  it('refuses a CA bundle file that holds no certificate', async () => {
    await writeFile(file('empty.pem'), 'nothing here\n');
    const { loadConfig, ConfigError } = await import('../../server/config.js');
    expect(() => loadConfig({ DATABASE_CA_FILE: file('empty.pem') })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_CA_FILE: file('empty.pem') })).toThrow(/holds no PEM certificate/);
  });
});
