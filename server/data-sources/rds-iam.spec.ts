// The settings of an IAM-authenticated source (rds-iam.ts), from DATA_SOURCES_FILE and from
// MAIN_DATABASE_AUTH=rds-iam: what they become, and a clear message for each way to get them wrong.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { readDataSourcesFile, readSourceDefinitions } from './config-file.js';
import { explainRdsIamRefusal, rdsIamRegion } from './rds-iam.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'porthole-rds-iam-'));
const CA_FILE = path.join(dir, 'rds-ca.pem');
writeFileSync(CA_FILE, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const ENDPOINT = 'app.c9akciq32.eu-west-2.rds.amazonaws.com';

function file(content: unknown): string {
  const name = path.join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(name, JSON.stringify(content));
  return name;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const SERVER = {
  TOOLS_DATABASE_URL: 'postgres://app:pw@127.0.0.1/tools',
  SESSION_SECRET: 'test-only-9f2c7e1ab84d4c6e8a3b5d7f0e2c4a6b8d',
  OIDC_ISSUER_URL: 'http://127.0.0.1:1/unused',
  OIDC_CLIENT_ID: 'x',
  OIDC_CLIENT_SECRET: 'y',
};

describe('an rds-iam source in DATA_SOURCES_FILE', () => {
  it('reads host, port, database and user, with the region of the RDS endpoint and the CA bundle', () => {
    const [main, replica] = readDataSourcesFile(
      file([
        { id: 'main', auth: 'rds-iam', host: ENDPOINT, port: 5433, database: 'app', user: 'porthole_reader' },
        {
          id: 'replica',
          auth: 'rds-iam',
          host: 'replica.internal',
          database: 'app',
          user: 'porthole_reader',
          region: 'us-east-1',
        },
      ]),
      {},
      { caFile: CA_FILE },
    );
    expect(main!.rdsIam).toEqual({
      host: ENDPOINT,
      port: 5433,
      database: 'app',
      user: 'porthole_reader',
      region: 'eu-west-2',
      caFile: CA_FILE,
    });
    expect(main!.url).toBeUndefined();
    expect(replica!.rdsIam).toMatchObject({ host: 'replica.internal', port: 5432, region: 'us-east-1' });
  });

  it('names every missing field, a password, a URL, a bad port and missing TLS', () => {
    expect(
      problems(() =>
        readDataSourcesFile(
          file([
            { id: 'main', auth: 'rds-iam', host: ENDPOINT, password: 'hunter2', port: 0 },
            { id: 'replica', auth: 'rds-iam', url: 'postgres://reader@replica/app', user: 'Robert"); drop', database: 'app' },
            { id: 'other', auth: 'kerberos', url: 'postgres://x@y/z' },
            { id: 'mixed', url: 'postgres://x@y/z', host: 'y', user: 'x' },
          ]),
          {},
          {},
        ),
      ),
    ).toEqual([
      'data source "main" uses auth "rds-iam" and must not have a "password": Porthole signs a short-lived IAM token for each connection',
      'data source "main" uses auth "rds-iam" and needs "database" (the database name)',
      'data source "main" uses auth "rds-iam" and needs "user" (the database user that has rds_iam, a plain identifier)',
      'data source "main": "port" must be a whole number from 1 to 65535',
      expect.stringMatching(
        /^data source "main" uses auth "rds-iam": RDS accepts IAM tokens only over TLS.*set DATABASE_CA_FILE/,
      ),
      'data source "replica" uses auth "rds-iam": give "host", "port", "database" and "user" instead of "url" or "urlEnv"',
      'data source "replica" uses auth "rds-iam" and needs "host" (the database\'s host name)',
      'data source "replica": "user" must be the database user that has rds_iam, a plain identifier (got "Robert\\"); drop")',
      expect.stringMatching(/^data source "replica" uses auth "rds-iam": RDS accepts IAM tokens only over TLS/),
      'data source "other": "auth" must be "password" (the URL\'s) or "rds-iam" (got "kerberos")',
      'data source "mixed": "host", "user" go with "auth": "rds-iam"; other sources give "url" or "urlEnv"',
    ]);
  });

  it('needs a region when neither the entry, the host name nor AWS_REGION gives one', () => {
    const entry = { id: 'main', auth: 'rds-iam', host: 'db.internal', database: 'app', user: 'porthole_reader' };
    expect(problems(() => readDataSourcesFile(file([entry]), {}, { caFile: CA_FILE }))).toEqual([
      'data source "main": the region to sign tokens for is unknown: give "region", use the RDS endpoint name, or set AWS_REGION',
    ]);
    const [fromTask] = readDataSourcesFile(file([entry]), { AWS_REGION: 'ap-southeast-2' }, { caFile: CA_FILE });
    expect(fromTask!.rdsIam!.region).toBe('ap-southeast-2');
    // The endpoint's own region wins over the task's.
    expect(rdsIamRegion(ENDPOINT, undefined, { AWS_REGION: 'us-east-1' })).toBe('eu-west-2');
  });

  it('may define "main" instead of MAIN_DATABASE_URL, but not as well as it', () => {
    const sources = file([{ id: 'main', auth: 'rds-iam', host: ENDPOINT, database: 'app', user: 'porthole_reader' }]);
    const config = loadConfig({ ...SERVER, DATABASE_CA_FILE: CA_FILE, DATA_SOURCES_FILE: sources });
    expect(config.mainDatabaseUrl).toBeUndefined();
    expect(readSourceDefinitions(config, {})[0]!.rdsIam!.user).toBe('porthole_reader');

    const both = loadConfig({
      ...SERVER,
      DATABASE_CA_FILE: CA_FILE,
      DATA_SOURCES_FILE: sources,
      MAIN_DATABASE_URL: 'postgres://reader:pw@127.0.0.1/main',
    });
    expect(problems(() => readSourceDefinitions(both, {}))).toEqual([
      'data source "main" has a connection in DATA_SOURCES_FILE and in MAIN_DATABASE_URL: give only one',
    ]);
    const none = loadConfig({ ...SERVER, DATA_SOURCES_FILE: file([{ id: 'main', maxRows: 10 }]) });
    expect(problems(() => readSourceDefinitions(none, {}))[0]).toMatch(
      /^data source "main" has no connection: set MAIN_DATABASE_URL/,
    );
    // Without DATA_SOURCES_FILE, MAIN_DATABASE_URL is still required.
    expect(() => loadConfig(SERVER)).toThrow(/MAIN_DATABASE_URL is required/);
  });
});

describe('MAIN_DATABASE_AUTH=rds-iam', () => {
  it('takes host, port, database and user from MAIN_DATABASE_URL, which then holds no password, and verifies TLS', () => {
    const config = loadConfig({
      ...SERVER,
      MAIN_DATABASE_AUTH: 'rds-iam',
      MAIN_DATABASE_URL: `postgres://porthole_reader@${ENDPOINT}:5432/app`,
      DATABASE_CA_FILE: CA_FILE,
    });
    expect(config.mainDatabaseUrl).toBeUndefined();
    expect(config.mainDatabaseIam).toEqual({
      host: ENDPOINT,
      port: 5432,
      database: 'app',
      user: 'porthole_reader',
      region: 'eu-west-2',
      caFile: CA_FILE,
    });
  });

  it('refuses a password, a missing user or database, weaker TLS, no CA bundle and no region', () => {
    const env = { ...SERVER, MAIN_DATABASE_AUTH: 'rds-iam' };
    expect(problems(() => loadConfig(env))).toEqual([
      'MAIN_DATABASE_URL is required with MAIN_DATABASE_AUTH=rds-iam (postgres://user@host:port/database, no password)',
    ]);
    expect(
      problems(() =>
        loadConfig({ ...env, MAIN_DATABASE_URL: `postgres://reader:secret@${ENDPOINT}/app`, DATABASE_CA_FILE: CA_FILE }),
      ),
    ).toEqual([
      'MAIN_DATABASE_AUTH=rds-iam: MAIN_DATABASE_URL must not carry a password (Porthole signs a short-lived IAM token for each connection)',
    ]);
    expect(problems(() => loadConfig({ ...env, MAIN_DATABASE_URL: `postgres://${ENDPOINT}/` }))).toEqual([
      'MAIN_DATABASE_AUTH=rds-iam: MAIN_DATABASE_URL must name the database user, like postgres://porthole_reader@host:5432/app',
      'MAIN_DATABASE_AUTH=rds-iam: MAIN_DATABASE_URL must name the database, like postgres://porthole_reader@host:5432/app',
      expect.stringMatching(/^MAIN_DATABASE_AUTH=rds-iam: RDS accepts IAM tokens only over TLS/),
    ]);
    expect(
      problems(() =>
        loadConfig({ ...env, MAIN_DATABASE_URL: `postgres://reader@${ENDPOINT}/app?sslmode=require`, DATABASE_CA_FILE: CA_FILE }),
      ),
    ).toEqual([
      'MAIN_DATABASE_AUTH=rds-iam: MAIN_DATABASE_URL asks for sslmode=require, but IAM tokens go only to a verified server (sslmode=verify-full)',
    ]);
    expect(
      problems(() => loadConfig({ ...env, MAIN_DATABASE_URL: 'postgres://reader@db.internal/app', DATABASE_CA_FILE: CA_FILE })),
    ).toEqual([
      'MAIN_DATABASE_AUTH=rds-iam: the region to sign tokens for is unknown: use the RDS endpoint name, or set AWS_REGION',
    ]);
    expect(problems(() => loadConfig({ ...env, MAIN_DATABASE_AUTH: 'iam', MAIN_DATABASE_URL: 'postgres://r:p@h/d' }))).toEqual([
      'MAIN_DATABASE_AUTH must be one of password, rds-iam (got "iam")',
    ]);
  });
});

describe('a refused IAM login', () => {
  it('is explained with what must hold on the AWS side; other errors are left alone', () => {
    const refused = Object.assign(new Error('PAM authentication failed for user "porthole_reader"'), { code: '28P01' });
    const explained = explainRdsIamRefusal(refused, { user: 'porthole_reader', host: ENDPOINT });
    expect(explained).toMatch(/refused the IAM token for "porthole_reader" \(PAM authentication failed/);
    expect(explained).toMatch(/rds-db:connect to dbuser:<DbiResourceId>\/porthole_reader/);
    expect(explained).toMatch(/GRANT rds_iam TO porthole_reader/);
    expect(explainRdsIamRefusal(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }), refused as never)).toBeUndefined();
  });
});
