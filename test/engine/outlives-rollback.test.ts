// Issue 21 item 4, a new THREATS.md case (47, "nothing a run does survives its ROLLBACK"):
// pg_logical_emit_message writes WAL in a READ ONLY transaction that is rolled back, with no privilege
// check, and txid_current / pg_current_xact_id take a transaction id. Every layer closes them: the
// reader role's grants (schema/reader-role.sql), the guard, and the start-up self-check for each source.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READER_ROLE_SCRIPT } from '../../schema/provision.js';
import { runPsqlScript } from '../../schema/sql-script.js';
import { checkDataSourceRole } from '../../server/data-sources/self-check.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { adminQuery } from '../support/databases.js';
import { failure, mainQuery } from './support.js';

const WAL_WRITERS = [
  "select pg_logical_emit_message(false, 'porthole', repeat('x', 1000))",
  "select pg_catalog.pg_logical_emit_message(true, 'porthole', 'x'::bytea)",
  'select txid_current()',
  'select pg_current_xact_id()',
];

describe('THREATS 47 (new case): no WAL-writing function is open to a read-only run', () => {
  let t: TestApp;
  let editor: SignedIn;
  const appRole = `porthole_app_user_${randomBytes(4).toString('hex')}`;

  async function asReader(sql: string) {
    const client = new pg.Client({ connectionString: t.main.readerUrl });
    await client.connect();
    try {
      await client.query('begin read only');
      await client.query(sql);
      return { ok: true };
    } catch (error) {
      return { ok: false, code: (error as pg.DatabaseError).code };
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    t = await startTestApp();
    editor = await signIn(t, 'editor');
    // The application's own role owns a table; re-running the script must leave it these functions.
    await adminQuery(`create role ${appRole} login`);
    await mainQuery(t, `create table app_owned (id int); alter table app_owned owner to ${appRole}`);
    const client = new pg.Client({ connectionString: t.main.adminUrl });
    await client.connect();
    try {
      await runPsqlScript(client, await readFile(READER_ROLE_SCRIPT, 'utf8'), {
        reader_role: t.main.readerRole,
        reader_password: decodeURIComponent(new URL(t.main.readerUrl).password),
        reader_schemas: 'public',
      });
    } finally {
      await client.end();
    }
  });
  afterAll(async () => {
    await t?.close();
    await adminQuery(`drop role if exists ${appRole}`);
  });

  it('the guard refuses them', async () => {
    for (const sql of WAL_WRITERS) {
      const error = await failure(t, editor, sql);
      expect(error, sql).toMatchObject({ status: 400, code: 'statement_not_allowed' });
    }
  });

  it('the reader role cannot call them, and the application’s roles still can', async () => {
    for (const sql of WAL_WRITERS) expect(await asReader(sql), sql).toEqual({ ok: false, code: '42501' });
    const { rows } = await mainQuery(
      t,
      `select p.oid::regprocedure::text as fn, has_function_privilege($1, p.oid, 'EXECUTE') as app,
              has_function_privilege($2, p.oid, 'EXECUTE') as reader
       from pg_proc p where p.proname in ('pg_logical_emit_message', 'txid_current', 'pg_current_xact_id') order by 1`,
      [appRole, t.main.readerRole],
    );
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const row of rows) expect(row, row.fn).toMatchObject({ app: true, reader: false });
  });

  it('the self-check warns when the reader can call one (as where the grant cannot be revoked)', async () => {
    const reader = new pg.Client({ connectionString: t.main.readerUrl });
    await reader.connect();
    const tools = { systemIdentifier: null, databaseOid: '0', database: 'elsewhere' };
    try {
      const closed = await checkDataSourceRole(reader, tools);
      expect(closed.warnings.join('\n')).not.toMatch(/write-ahead log/);
      await mainQuery(t, `grant execute on function txid_current() to ${t.main.readerRole}`);
      const open = await checkDataSourceRole(reader, tools);
      expect(open.problems).toEqual([]);
      expect(open.warnings.join('\n')).toMatch(/can call txid_current: they write to the write-ahead log/);
    } finally {
      await mainQuery(t, `revoke execute on function txid_current() from ${t.main.readerRole}`);
      await reader.end();
    }
  });
});
