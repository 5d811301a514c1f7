// schema/reader-role.sql run by a managed database's master user (RDS-like: CREATEROLE and CREATEDB,
// owner of the database and its tables, not a superuser, not the owner of pg_catalog's functions). The
// script must finish, the source must pass the self-check with warnings, and what the master could not
// revoke is still refused by Porthole's guard.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, READER_ROLE_SCRIPT } from '../../schema/provision.js';
import { runPsqlScript } from '../../schema/sql-script.js';
import { buildApp } from '../../server/app.js';
import { createSourcePool, DataSourceRegistry } from '../../server/data-sources/registry.js';
import { connectToolsDb, type ToolsDb } from '../../server/db/tools-db.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { adminQuery, adminUrl } from '../support/databases.js';

describe('the reader role set up by a managed database master user', () => {
  const suffix = randomBytes(4).toString('hex');
  const master = `porthole_master_${suffix}`;
  const reader = `porthole_rdsreader_${suffix}`;
  const database = `porthole_managed_${suffix}`;
  const password = randomBytes(12).toString('hex');
  let t: TestApp;
  let app: FastifyInstance;
  let toolsDb: ToolsDb;
  let registry: DataSourceRegistry;
  let editor: SignedIn;
  let notices: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    await adminQuery(`create role ${master} login password '${password}' createrole createdb`);
    const masterUrl = databaseUrl(adminUrl(), { database: 'postgres', user: master, password });
    const asMaster = async (url: string, fn: (client: pg.Client) => Promise<void>) => {
      const client = new pg.Client({ connectionString: url });
      client.on('notice', (notice) => notices.push(notice.message ?? ''));
      await client.connect();
      try {
        await fn(client);
      } finally {
        await client.end();
      }
    };
    await asMaster(masterUrl, (client) => client.query(`create database ${database}`).then(() => undefined));
    const mainAsMaster = databaseUrl(adminUrl(), { database, user: master, password });
    await asMaster(mainAsMaster, async (client) => {
      await client.query(`create table orders (id int primary key, total numeric); insert into orders values (1, 9.5)`);
      notices = [];
      await runPsqlScript(client, await readFile(READER_ROLE_SCRIPT, 'utf8'), {
        reader_role: reader,
        reader_password: password,
        reader_schemas: 'public',
      });
    });
    registry = new DataSourceRegistry([
      { id: 'main', name: 'Managed', pool: createSourcePool(databaseUrl(adminUrl(), { database, user: reader, password }), 2) },
    ]);
    toolsDb = connectToolsDb(t.tools.appUrl, { max: 2 });
    app = await buildApp({ config: t.config, toolsDb, dataSources: registry });
    await app.ready();
    editor = await signIn(t, 'editor');
  });
  afterAll(async () => {
    await app?.close();
    await toolsDb?.close();
    await registry?.close();
    await t?.close();
    await adminQuery(`drop database if exists ${database} with (force)`);
    // A role another test's database still holds a grant for cannot be dropped yet; a stray role is harmless.
    for (const role of [reader, master]) await adminQuery(`drop role if exists ${role}`).catch(() => undefined);
  });

  it('finishes, saying what only a superuser could do', () => {
    expect(notices).toContain(
      'temp_file_limit needs a superuser: set it in the server configuration instead (RDS: the parameter group)',
    );
    expect(notices).toContain(
      `large-object, backend-signal and activity functions stay callable by ${reader} (changing that needs a superuser)`,
    );
  });

  it('passes the self-check with warnings, and runs queries', async () => {
    const run = await app.inject({
      method: 'POST',
      url: '/api/runs',
      headers: jsonHeaders(editor, t),
      payload: { dataSource: 'main', sql: 'select id, total from orders' },
    });
    expect(run.statusCode, run.body).toBe(200);
    expect(run.json().rows).toEqual([[1, '9.5']]);
    const list = await app.inject({ method: 'GET', url: '/api/data-sources', headers: { cookie: editor.cookie } });
    const source = list.json().dataSources[0];
    expect(source).toMatchObject({ id: 'main', status: 'ok', problems: [] });
    expect(source.warnings.join('\n')).toMatch(/pg_cancel_backend/);
  });

  it('still refuses what the master user could not revoke', async () => {
    for (const sql of [
      'select pg_cancel_backend(pg_backend_pid())',
      'select * from pg_stat_activity',
      "select lo_from_bytea(0, 'x')",
    ]) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/runs',
        headers: jsonHeaders(editor, t),
        payload: { dataSource: 'main', sql },
      });
      expect(res.statusCode, sql).toBe(400);
      expect(res.json().error.code, sql).toBe('statement_not_allowed');
    }
    const owned = await adminQuery(
      `select has_database_privilege($1, current_database(), 'TEMP') as temp, has_schema_privilege($1, 'public', 'CREATE') as can_create`,
      [reader],
      database,
    );
    expect(owned.rows[0]).toEqual({ temp: false, can_create: false });
  });
});
