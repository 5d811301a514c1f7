// Access tiers (issue #13) on a real PostgreSQL: the demo main database with the standard reader
// (schema/reader-role.sql with withheld_columns) and the pii reader. The standard tier cannot read a
// sensitive column by any route we know, through Porthole or connected as its role directly, while the
// pii tier can; role switching is refused; runs record their tier; the schema and errors explain.
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READER_ROLE_SCRIPT, DEMO_SENSITIVE_COLUMNS } from '../../schema/provision.js';
import { runPsqlScript } from '../../schema/sql-script.js';
import { checkTierColumns } from '../../server/data-sources/tier-check.js';
import { parseColumnRef } from '../../server/data-sources/tiers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { failure, mainQuery, post, rows, toolsQuery, waitFor } from '../engine/support.js';

/** Every route to a sensitive column we know of; each must fail for the standard tier and work for pii. */
const ROUTES: Record<string, string> = {
  'select *': 'select * from notifications limit 1',
  'the column by name': 'select "to" from notifications limit 1',
  'row_to_json(t)': 'select row_to_json(n) from notifications n limit 1',
  't::text': 'select n::text from notifications n limit 1',
  'a whole-row reference': 'select n from notifications n limit 1',
  'a view reading it': 'select * from recipients limit 1',
  'a join': 'select u.email_address from users u join user_to_service us on us.user_id = u.id limit 1',
  'a subquery': 'select (select mobile_number from users where mobile_number is not null limit 1) as m',
  EXISTS: "select exists (select 1 from users where email_address like '%@%') as e",
  'ORDER BY the column': 'select id from users order by mobile_number limit 1',
  'WHERE on the column': `select count(*) from notifications where "to" like '%@%'`,
  'a CTE': 'with c as (select "to" from notifications) select count(*) from c',
  'a lateral join': 'select x.e from services s, lateral (select email_address as e from users limit 1) x limit 1',
  'an aggregate': 'select count(distinct email_address) from users',
  'a function of it': 'select md5(string_agg("to", \',\')) from notifications',
};

describe('access tiers', () => {
  let t: TestApp;
  let standard: SignedIn;
  let support: SignedIn;
  let admin: SignedIn;
  let viewer: SignedIn;
  let direct: { standard: pg.Client; pii: pg.Client };

  beforeAll(async () => {
    t = await startTestApp({}, { tiers: true });
    // A view over a sensitive column, made by the tables' owner before the documented re-run of the
    // standard tier's command (which withholds such views), plus one that reads only harmless columns.
    await mainQuery(
      t,
      `create view recipients as select id, "to" as recipient, notification_status from notifications;
       create view recipient_counts as select r.notification_status, count(*) from recipients r group by 1;
       create view statuses as select id, notification_status from notifications;`,
    );
    const client = new pg.Client({ connectionString: `${t.main.adminUrl}` });
    await client.connect();
    try {
      const script = await readFile(READER_ROLE_SCRIPT, 'utf8');
      await runPsqlScript(client, script, {
        reader_role: t.main.pii!.role,
        reader_password: 'unused-pii-9f2c',
        reader_schemas: 'public',
      });
      await runPsqlScript(client, script, {
        reader_role: t.main.readerRole,
        reader_password: 'unused-std-9f2c',
        reader_schemas: 'public',
        withheld_columns: DEMO_SENSITIVE_COLUMNS.join(','),
      });
      // The re-run changed the passwords; set the ones the app's URLs carry back.
      for (const url of [t.main.readerUrl, t.main.pii!.url]) {
        const parsed = new URL(url);
        await client.query(
          `alter role ${pg.escapeIdentifier(decodeURIComponent(parsed.username))} password ${pg.escapeLiteral(decodeURIComponent(parsed.password))}`,
        );
      }
    } finally {
      await client.end();
    }
    [standard, support, admin, viewer] = await Promise.all([
      signIn(t, 'editor', { groups: ['engineering'] }),
      signIn(t, 'editor', { groups: ['engineering', 'support'] }),
      signIn(t, 'admin', { groups: ['porthole-admins'] }),
      signIn(t, 'viewer', { groups: ['product'] }),
    ]);
    direct = { standard: new pg.Client(t.main.readerUrl), pii: new pg.Client(t.main.pii!.url) };
    await Promise.all([direct.standard.connect(), direct.pii.connect()]);
  });
  afterAll(async () => {
    await Promise.all([direct?.standard.end(), direct?.pii.end()]);
    await t?.close();
  });

  it('refuses every route to a sensitive column for the standard tier and allows it for pii', async () => {
    for (const [route, sql] of Object.entries(ROUTES)) {
      const refused = await failure(t, standard, sql);
      expect(refused.status, route).toBe(403);
      expect(refused.code, `${route}: ${refused.message}`).toBe('column_restricted');
      expect(refused.message, route).toMatch(/tier "pii" can \(it needs group support\)/);
      expect(refused.tier, route).toBe('standard');
      const allowed = await rows(t, support, sql);
      expect(allowed.rowCount, route).toBe(1);
    }
    // Columns nobody restricted stay readable for everyone, including through a view that avoids them.
    expect((await rows(t, standard, 'select id, notification_status from notifications order by id limit 2')).rowCount).toBe(2);
    expect(Number((await rows(t, standard, 'select count(*) from statuses')).rows[0]![0])).toBeGreaterThan(0);
  });

  it('leaves the grants as the boundary: the standard role itself, without Porthole, is refused', async () => {
    for (const [route, sql] of Object.entries(ROUTES)) {
      await expect(direct.standard.query(sql), route).rejects.toMatchObject({ code: '42501' });
      expect((await direct.pii.query(sql)).rowCount, route).toBe(1);
    }
    // COPY (as psql's \copy would send it) and a view the reader creates itself: refused too.
    await expect(direct.standard.query('copy (select "to" from notifications limit 1) to stdout')).rejects.toMatchObject({
      code: '42501',
    });
    await expect(direct.standard.query('create view mine as select "to" from notifications')).rejects.toMatchObject({
      code: expect.stringMatching(/^(42501|25006)$/),
    });
    await expect(direct.standard.query('select * from recipient_counts')).rejects.toMatchObject({ code: '42501' });
  });

  it('names the column and the tier that could read it; SELECT * is told to list columns', async () => {
    const named = await failure(t, standard, 'select id, email_address from users');
    expect(named.message).toBe(
      'Column "email_address" of public.users is restricted: your tier "standard" cannot read it; the tier "pii" can (it needs group support).',
    );
    expect(named).toMatchObject({
      relation: 'public.users',
      columns: ['email_address'],
      readableByTier: 'pii',
      groups: ['support'],
    });
    const star = await failure(t, standard, 'select * from users');
    expect(star.message).toMatch(
      /^public\.users has restricted columns "email_address", "mobile_number" that your tier "standard" cannot read/,
    );
    expect(star.message).toMatch(/list the columns you need instead/);
    const view = await failure(t, standard, 'select recipient from recipients');
    expect(view.message).toBe(
      'public.recipients is restricted: your tier "standard" cannot read it; the tier "pii" can (it needs group support).',
    );
  });

  it('refuses role switching in SQL, in Porthole and in PostgreSQL', async () => {
    const pii = t.main.pii!.role;
    for (const sql of [
      `set role ${pii}`,
      'set session authorization postgres',
      `select set_config('role', '${pii}', true)`,
      `select set_config('role', '${pii}', false), "to" from notifications`,
      `select * from (select set_config('ro' || 'le', '${pii}', true)) s`,
    ]) {
      const refused = await failure(t, standard, sql);
      expect(refused.code, sql).toBe('statement_not_allowed');
    }
    // The standard login role is a member of nothing: PostgreSQL refuses the switch itself.
    await expect(direct.standard.query(`set role ${pg.escapeIdentifier(pii)}`)).rejects.toMatchObject({ code: '42501' });
    await expect(direct.standard.query(`select set_config('role', $1, false)`, [pii])).rejects.toMatchObject({ code: '42501' });
    await expect(direct.standard.query('set session authorization postgres')).rejects.toMatchObject({ code: '42501' });
  });

  it('records the tier of every run in the audit log; the audit API filters by it', async () => {
    const ok = await rows(t, support, 'select count("to") from notifications');
    expect(ok.tier).toBe('pii');
    const plain = await rows(t, standard, 'select count(*) from notifications');
    expect(plain.tier).toBe('standard');
    const refused = await failure(t, standard, 'select "to" from notifications limit 1');
    const { rows: events } = await toolsQuery(
      t,
      `select action, outcome, error_code, details->>'tier' as tier, details->>'runId' as run from audit_events
       where action like 'run.%' and details->>'runId' = any($1) order by seq`,
      [[ok.id, plain.id]],
    );
    expect(events.map((e) => [e.run, e.action, e.tier])).toEqual([
      [ok.id, 'run.started', 'pii'],
      [ok.id, 'run.finished', 'pii'],
      [plain.id, 'run.started', 'standard'],
      [plain.id, 'run.finished', 'standard'],
    ]);
    const { rows: failed } = await toolsQuery(
      t,
      `select details->>'tier' as tier, error_code, outcome from audit_events where action = 'run.failed' and error_code = 'column_restricted'`,
    );
    expect(failed).toContainEqual({ tier: 'standard', error_code: 'column_restricted', outcome: 'denied' });
    expect(refused.code).toBe('column_restricted');

    const list = async (tier: string) => {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/audit?action=run.finished&tier=${tier}`,
        headers: { cookie: admin.cookie },
      });
      expect(res.statusCode, res.body).toBe(200);
      return (res.json() as { events: Array<{ tier: string | null; actor: { id: string } }> }).events;
    };
    const pii = await list('pii');
    expect(pii.length).toBeGreaterThan(0);
    expect(pii.every((e) => e.tier === 'pii' && e.actor.id === support.user.id)).toBe(true);
    expect((await list('standard')).every((e) => e.tier === 'standard')).toBe(true);
  });

  it('marks CSV downloads under the pii tier', async () => {
    const sql = 'select id, "to" from notifications order by id limit 3';
    const res = await post(t, support, '/api/runs.csv', { dataSource: 'main', sql });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['x-porthole-tier']).toBe('pii');
    expect(res.headers['x-porthole-sensitive']).toBe('true');
    expect(res.headers['content-disposition']).toMatch(/filename="main-pii-\d{8}-\d{6}\.csv"/);
    const runId = String(res.headers['x-porthole-run-id']);
    // The download's event is recorded once the stream has ended, which may be just after the body arrived.
    const downloads = await waitFor('the csv_downloaded event', async () => {
      const { rows: found } = await toolsQuery(
        t,
        `select details->>'tier' as tier, details->>'sensitive' as sensitive from audit_events
         where action = 'run.csv_downloaded' and details->>'runId' = $1`,
        [runId],
      );
      return found.length > 0 && found;
    });
    expect(downloads).toEqual([{ tier: 'pii', sensitive: 'true' }]);

    const plain = await post(t, standard, '/api/runs.csv', { dataSource: 'main', sql: 'select id from notifications limit 3' });
    expect(plain.headers['x-porthole-sensitive']).toBe('false');
    expect(plain.headers['content-disposition']).toMatch(/filename="main-\d{8}-\d{6}\.csv"/);
    const refused = await post(t, standard, '/api/runs.csv', { dataSource: 'main', sql });
    expect(refused.statusCode).toBe(403);
    expect((refused.json() as { error: { code: string } }).error.code).toBe('column_restricted');
  });

  it('shows restricted columns in the schema with the group that can read them', async () => {
    const schemaOf = async (who: SignedIn) => {
      const res = await t.app.inject({ method: 'GET', url: '/api/data-sources/main/schema', headers: { cookie: who.cookie } });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as {
        schemas: Array<{
          name: string;
          relations: Array<{ name: string; columns: Array<{ name: string; restricted?: unknown }> }>;
        }>;
      };
      const users = body.schemas[0]!.relations.find((r) => r.name === 'users')!;
      return Object.fromEntries(users.columns.map((c) => [c.name, c.restricted]));
    };
    const forStandard = await schemaOf(standard);
    expect(forStandard.email_address).toEqual({ tier: 'pii', groups: ['support'] });
    expect(forStandard.mobile_number).toEqual({ tier: 'pii', groups: ['support'] });
    expect(forStandard.name).toBeUndefined();
    const forSupport = await schemaOf(support);
    expect(forSupport.email_address).toBeUndefined();

    const sources = await t.app.inject({ method: 'GET', url: '/api/data-sources', headers: { cookie: standard.cookie } });
    const main = (sources.json() as { dataSources: Array<{ id: string; tier: string; status: string; warnings: string[] }> })
      .dataSources[0]!;
    expect(main).toMatchObject({ id: 'main', tier: 'standard', status: 'ok' });
    expect(main.warnings.filter((w) => /sensitive/.test(w))).toEqual([]);
  });

  it('runs a saved query that needs pii for those who have it and fails clearly for the others', async () => {
    const created = await post(t, support, '/api/queries', {
      name: 'Recipients of failed emails',
      dataSource: 'main',
      sql: `select "to" from notifications where notification_status = 'permanent-failure' limit 5`,
      visibility: 'team',
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = (created.json() as { id: string }).id;
    expect((await rows(t, support, '', undefined, { queryId: id, dataSource: undefined, sql: undefined })).tier).toBe('pii');
    const tierOf = async (who: SignedIn, queryId: string) => {
      const res = await t.app.inject({ method: 'GET', url: `/api/queries/${queryId}/tier`, headers: { cookie: who.cookie } });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { needed: { tier: string | null; groups: string[] } | null; yours: string };
    };
    expect(await tierOf(viewer, id)).toEqual({ needed: { tier: 'pii', groups: ['support'] }, yours: 'standard' });
    expect(await tierOf(support, id)).toEqual({ needed: { tier: 'pii', groups: ['support'] }, yours: 'pii' });
    const save = async (sql: string) => {
      const res = await post(t, support, '/api/queries', { name: sql.slice(0, 40), dataSource: 'main', sql, visibility: 'team' });
      expect(res.statusCode, res.body).toBe(201);
      return (res.json() as { id: string }).id;
    };
    // SELECT *, a view and a variable are judged by PostgreSQL too (EXPLAIN as each tier, lowest first).
    expect((await tierOf(viewer, await save('select * from users'))).needed).toEqual({ tier: 'pii', groups: ['support'] });
    expect((await tierOf(viewer, await save('select count(*) from recipients'))).needed?.tier).toBe('pii');
    expect((await tierOf(viewer, await save('select id from users where email_address = {email}'))).needed?.tier).toBe('pii');
    expect((await tierOf(viewer, await save('select id, notification_status from statuses where id > {n}'))).needed).toEqual({
      tier: 'standard',
      groups: [],
    });
    for (const who of [viewer, standard]) {
      const res = await post(t, who, '/api/runs', { queryId: id });
      expect(res.statusCode, res.body).toBe(403);
      expect((res.json() as { error: { code: string; message: string } }).error).toMatchObject({
        code: 'column_restricted',
        message: expect.stringMatching(/Column "to" of public\.notifications is restricted/),
      });
    }
  });

  it('leaves no tier able to create temporary tables, whichever tier the script set up first', async () => {
    // reader-role.sql gives TEMPORARY back to the database's other users; another tier's reader is not one.
    const { rows: grants } = await mainQuery(
      t,
      `select r.rolname, has_database_privilege(r.rolname, current_database(), 'TEMPORARY') as temp
       from pg_roles r where r.rolname = any($1::text[]) order by 1`,
      [[t.main.readerRole, t.main.pii!.role]],
    );
    expect(grants).toEqual([t.main.readerRole, t.main.pii!.role].sort().map((rolname) => ({ rolname, temp: false })));
  });

  it("checks every tier's pool for readiness", async () => {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode, res.body).toBe(200);
    expect((res.json() as { checks: Record<string, string> }).checks).toMatchObject({
      'source:main': 'ok',
      'source:main:pii': 'ok',
    });
  });

  it('warns when a tier that should lack a sensitive column can read it, or a view over it', async () => {
    const sensitive = DEMO_SENSITIVE_COLUMNS.map((c) => parseColumnRef(c)!);
    const clean = await checkTierColumns(
      direct.standard,
      { name: 'standard', readsSensitive: false },
      t.main.readerRole,
      sensitive,
    );
    expect(clean.warnings).toEqual([]);
    const piiCheck = await checkTierColumns(direct.pii, { name: 'pii', readsSensitive: true }, t.main.pii!.role, sensitive);
    expect(piiCheck.warnings).toEqual([]);
    expect(piiCheck.readable).toHaveLength(3);

    const reader = pg.escapeIdentifier(t.main.readerRole);
    await mainQuery(t, `grant select (email_address) on users to ${reader}; grant select on recipient_counts to ${reader}`);
    try {
      const leaky = await checkTierColumns(direct.standard, { name: 'standard', readsSensitive: false }, t.main.readerRole, [
        ...sensitive,
        { schema: 'public', table: 'users', column: 'no_such_column' },
      ]);
      expect(leaky.warnings).toEqual([
        `tier "standard" (role "${t.main.readerRole}") can read sensitive column public.users.email_address: run schema/reader-role.sql for it again with withheld_columns listing it`,
        'sensitive column public.users.no_such_column does not exist (check "sensitiveColumns")',
        `tier "standard" (role "${t.main.readerRole}") can read recipient_counts, which reads a sensitive column: run schema/reader-role.sql for it again`,
      ]);
    } finally {
      await mainQuery(
        t,
        `revoke select (email_address) on users from ${reader}; revoke select on recipient_counts from ${reader}`,
      );
    }
  });

  it('keeps default privileges from a tier with withheld columns: a new table waits for the re-run', async () => {
    await mainQuery(t, 'create table contacts (id int, phone text)');
    await mainQuery(t, 'insert into contacts values (1, $1)', ['+44 7700 900123']);
    expect((await rows(t, support, 'select phone from contacts')).rows).toEqual([['+44 7700 900123']]);
    const refused = await failure(t, standard, 'select id from contacts');
    expect(refused.code).toBe('permission_denied');
  });
});
