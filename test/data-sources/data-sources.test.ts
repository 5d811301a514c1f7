// Data sources: the self-check that refuses a role that can write or a URL reaching the tools database
// (THREATS.md 20-21), access by group, the list and the schema browser.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl } from '../../schema/provision.js';
import { buildApp } from '../../server/app.js';
import { createSourcePool, DataSourceRegistry } from '../../server/data-sources/registry.js';
import { connectToolsDb, type ToolsDb } from '../../server/db/tools-db.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { adminQuery, adminUrl } from '../support/databases.js';

describe('data sources', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let toolsDb: ToolsDb;
  let registry: DataSourceRegistry;
  let editor: SignedIn;
  let analyst: SignedIn;
  let viewer: SignedIn;
  let admin: SignedIn;
  const suffix = randomBytes(4).toString('hex');
  const roles = { writer: `porthole_writer_${suffix}`, owner: `porthole_owner_${suffix}`, toolsReader: `porthole_tr_${suffix}` };
  const password = randomBytes(12).toString('hex');

  beforeAll(async () => {
    t = await startTestApp();
    const main = t.main.database;
    await adminQuery(
      `create table t (id int);
       create table hidden (secret text);
       grant select on t to ${t.main.readerRole};
       revoke select on hidden from ${t.main.readerRole};
       create role ${roles.writer} login password '${password}';
       grant connect on database ${main} to ${roles.writer};
       grant usage on schema public to ${roles.writer};
       grant select, insert on t to ${roles.writer};
       create role ${roles.owner} login password '${password}';
       grant connect on database ${main} to ${roles.owner};
       create schema owned authorization ${roles.owner};`,
      [],
      main,
    );
    // A role on the tools database that can only read: still refused, because of where it points.
    await adminQuery(`create role ${roles.toolsReader} login password '${password}'`);
    await adminQuery(
      `grant connect on database ${t.tools.database} to ${roles.toolsReader};
       grant usage on schema public to ${roles.toolsReader};
       grant select on all tables in schema public to ${roles.toolsReader};`,
      [],
      t.tools.database,
    );
    const as = (database: string, user: string) => databaseUrl(adminUrl(), { database, user, password });
    registry = new DataSourceRegistry([
      { id: 'main', name: 'Main database', pool: createSourcePool(t.main.readerUrl, 3) },
      {
        id: 'restricted',
        name: 'Analysts only',
        pool: createSourcePool(t.main.readerUrl, 2),
        settings: { groups: ['analysts'] },
      },
      { id: 'superuser', name: 'As a superuser', pool: createSourcePool(databaseUrl(adminUrl(), { database: main }), 1) },
      { id: 'writer', name: 'Can insert', pool: createSourcePool(as(main, roles.writer), 1) },
      { id: 'owner', name: 'Owns a schema', pool: createSourcePool(as(main, roles.owner), 1) },
      { id: 'tools', name: 'The tools DB, read-only', pool: createSourcePool(as(t.tools.database, roles.toolsReader), 1) },
      { id: 'tools-app', name: 'The tools DB as the app', pool: createSourcePool(t.tools.appUrl, 1) },
    ]);
    toolsDb = connectToolsDb(t.tools.appUrl, { max: 3 });
    app = await buildApp({ config: t.config, toolsDb, dataSources: registry });
    await app.ready();
    [editor, analyst, viewer, admin] = await Promise.all([
      signIn(t, 'editor'),
      signIn(t, 'editor', { groups: ['analysts'] }),
      signIn(t, 'viewer'),
      signIn(t, 'admin'),
    ]);
  });
  afterAll(async () => {
    await app?.close();
    await toolsDb?.close();
    await registry?.close();
    await t?.close();
    // A role another test's database still holds a grant for cannot be dropped yet; a stray role is harmless.
    for (const role of Object.values(roles)) await adminQuery(`drop role if exists ${role}`).catch(() => undefined);
  });

  const runOn = (who: SignedIn, dataSource: string, sql = 'select 1 as one') =>
    app.inject({ method: 'POST', url: '/api/runs', headers: jsonHeaders(who, t), payload: { dataSource, sql } });

  it('refuses a source whose role is a superuser, can write or owns objects, naming the problem (THREATS 20)', async () => {
    const cases: Record<string, RegExp> = {
      superuser: /is a superuser/,
      writer: new RegExp(`can write to public\\.t`),
      owner: /owns 1 objects/,
    };
    for (const [id, problem] of Object.entries(cases)) {
      const res = await runOn(admin, id);
      expect(res.statusCode, id).toBe(503);
      const error = res.json().error;
      expect(error.code, id).toBe('data_source_refused');
      expect(error.message, id).toMatch(problem);
      expect(error.problems.join('\n'), id).toMatch(problem);
    }
    const writes = await adminQuery('select count(*) from t', [], t.main.database);
    expect(Number(writes.rows[0].count)).toBe(0);
  });

  it('refuses the tools database as a data source, even through a read-only role (THREATS 21)', async () => {
    for (const id of ['tools', 'tools-app']) {
      const res = await runOn(admin, id, 'select count(*) from audit_events');
      expect(res.statusCode, id).toBe(503);
      expect(res.json().error.message, id).toMatch(/points at Porthole's own tools database/);
    }
  });

  it('accepts the shipped reader role and lists every source with its status for admins', async () => {
    expect((await runOn(editor, 'main')).json().rows).toEqual([[1]]);
    const res = await app.inject({ method: 'GET', url: '/api/data-sources', headers: { cookie: admin.cookie } });
    expect(res.statusCode).toBe(200);
    const byId = Object.fromEntries(
      (res.json().dataSources as Array<{ id: string; status: string; problems: string[] }>).map((s) => [s.id, s]),
    );
    expect(byId.main).toMatchObject({ status: 'ok', problems: [], timeoutMs: t.config.engine.queryTimeoutMs, maxRows: 10_000 });
    expect(byId.superuser).toMatchObject({ status: 'refused' });
    expect(byId.tools).toMatchObject({ status: 'refused' });
  });

  it('shows a group-restricted source only to its groups and admins', async () => {
    const listFor = async (who: SignedIn) =>
      (
        (await app.inject({ method: 'GET', url: '/api/data-sources', headers: { cookie: who.cookie } })).json()
          .dataSources as Array<{
          id: string;
        }>
      ).map((s) => s.id);
    expect(await listFor(editor)).not.toContain('restricted');
    expect(await listFor(analyst)).toContain('restricted');
    expect((await runOn(editor, 'restricted')).statusCode).toBe(404);
    expect((await runOn(analyst, 'restricted')).statusCode).toBe(200);
    expect((await runOn(admin, 'restricted')).statusCode).toBe(200);
  });

  it('browses the schema the reader role can see, cached, with refresh, for editors', async () => {
    const get = (who: SignedIn, query = '') =>
      app.inject({ method: 'GET', url: `/api/data-sources/main/schema${query}`, headers: { cookie: who.cookie } });
    const res = await get(editor);
    expect(res.statusCode).toBe(200);
    const body = res.json() as {
      schemas: Array<{ name: string; relations: Array<{ name: string; columns: Array<{ name: string }> }> }>;
      readAt: string;
    };
    const publicSchema = body.schemas.find((s) => s.name === 'public')!;
    const notifications = publicSchema.relations.find((r) => r.name === 'notifications')!;
    expect(notifications.columns.slice(0, 3).map((c) => c.name)).toEqual(['id', 'service_id', 'template_id']);
    expect(publicSchema.relations.map((r) => r.name)).toContain('t');
    expect(publicSchema.relations.map((r) => r.name)).not.toContain('hidden');
    expect((await get(editor)).json().readAt).toBe(body.readAt);
    await new Promise((resolve) => setTimeout(resolve, 5_100));
    expect((await get(editor, '?refresh=true')).json().readAt).not.toBe(body.readAt);
    expect((await get(viewer)).statusCode).toBe(403);
    expect(
      (await app.inject({ method: 'GET', url: '/api/data-sources/superuser/schema', headers: { cookie: admin.cookie } }))
        .statusCode,
    ).toBe(503);
  });
});
