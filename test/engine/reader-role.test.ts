// Layer 1, the shipped reader role (schema/reader-role.sql): what a SELECT-only role can still do by
// default and Porthole must stop (THREATS.md 9-13, 16). Each case runs through the API and, where the
// guard would refuse first, also directly as the reader role, because the grants are the boundary.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { failure, mainQuery, rows } from './support.js';

describe('the shipped reader role', () => {
  let t: TestApp;
  let editor: SignedIn;
  /** Another Porthole user's session on the main database, as the same reader role. */
  let other: pg.Client;
  let otherPid: number;

  beforeAll(async () => {
    t = await startTestApp();
    editor = await signIn(t, 'editor');
    other = new pg.Client({ connectionString: t.main.readerUrl });
    await other.connect();
    otherPid = (await other.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  });
  afterAll(async () => {
    await other?.end();
    await t?.close();
  });

  /** A statement run as the reader role outside Porthole: no guard, no read-only transaction. */
  async function asReader(sql: string): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
    const client = new pg.Client({ connectionString: t.main.readerUrl });
    await client.connect();
    try {
      await client.query(sql);
      return { ok: true };
    } catch (error) {
      return { ok: false, code: (error as pg.DatabaseError).code ?? '', message: (error as Error).message };
    } finally {
      await client.end();
    }
  }

  it('refuses advisory locks, and none is left held (THREATS 9)', async () => {
    for (const sql of ['select pg_advisory_lock(4242)', 'select (4243).pg_advisory_lock_shared']) {
      expect(await failure(t, editor, sql), sql).toMatchObject({ status: 400, code: 'statement_not_allowed' });
    }
    const held = await mainQuery(
      t,
      `select count(*) from pg_locks where locktype = 'advisory' and objid in (4242, 4243)
         and database = (select oid from pg_database where datname = current_database())`,
    );
    expect(Number(held.rows[0].count)).toBe(0);
  });

  it('cannot create, import or write large objects (THREATS 10)', async () => {
    for (const sql of ["select lo_from_bytea(0, 'x')", "select lo_import('/etc/passwd')", 'select lo_create(0)']) {
      // The guard refuses them by name; without it, the role's grants do.
      expect(await failure(t, editor, sql), sql).toMatchObject({ status: 400, code: 'statement_not_allowed' });
      expect(await asReader(sql), sql).toMatchObject({ ok: false, code: '42501' });
    }
    const count = await mainQuery(t, 'select count(*) from pg_largeobject_metadata');
    expect(Number(count.rows[0].count)).toBe(0);
  });

  it("cannot cancel or terminate another user's session (THREATS 11)", async () => {
    for (const fn of ['pg_cancel_backend', 'pg_terminate_backend']) {
      expect(await failure(t, editor, `select ${fn}(${otherPid})`), fn).toMatchObject({
        status: 400,
        code: 'statement_not_allowed',
      });
      expect(await asReader(`select ${fn}(${otherPid})`)).toMatchObject({ ok: false, code: '42501' });
    }
    expect((await other.query('select 1 as alive')).rows).toEqual([{ alive: 1 }]);
  });

  it("cannot read another session's SQL (THREATS 12)", async () => {
    const marker = `secret_marker_${Date.now()}`;
    const sleeping = other.query(`select pg_sleep(1.5), '${marker}'`);
    try {
      for (const sql of [
        'select query from pg_stat_activity',
        `select pg_stat_get_backend_activity(s.backendid) from pg_stat_get_backend_idset() s(backendid)`,
        'select * from pg_stat_get_activity(null)',
      ]) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/runs',
          headers: { cookie: editor.cookie, 'content-type': 'application/json', origin: t.config.publicUrl },
          payload: { dataSource: 'main', sql },
        });
        // Refused by the guard, closed to the role, or hidden: never the other session's SQL.
        expect(res.body, sql).not.toContain(marker);
        expect([200, 400, 403], sql).toContain(res.statusCode);
        const direct = await asReader(sql);
        expect(direct, sql).toMatchObject({ ok: false, code: '42501' });
      }
    } finally {
      await sleeping;
    }
  });

  it('cannot read or list server files, or COPY to a file or program (THREATS 13)', async () => {
    for (const sql of [
      "select pg_read_file('/etc/passwd')",
      "select pg_ls_dir('.')",
      "select pg_read_binary_file('/etc/hostname')",
    ]) {
      // The guard refuses them by name; without it, the role's grants do.
      expect(await failure(t, editor, sql), sql).toMatchObject({ status: 400, code: 'statement_not_allowed' });
      expect(await asReader(sql), sql).toMatchObject({ ok: false, code: '42501' });
    }
    for (const sql of ["COPY (select 1) TO PROGRAM 'id'", "COPY (select 1) TO '/tmp/porthole-x.csv'"]) {
      expect(await failure(t, editor, sql), sql).toMatchObject({ status: 400, code: 'statement_not_allowed' });
      // Without Porthole's guard the role itself is refused.
      expect(await asReader(sql), sql).toMatchObject({ ok: false, code: '42501' });
    }
  });

  it('stops a sort past temp_file_limit cleanly, and the limit cannot be raised (THREATS 16)', async () => {
    await mainQuery(t, `alter role ${t.main.readerRole} set temp_file_limit = '1MB'`);
    // Connections opened before the change keep the old default; end them so the pool opens new ones.
    await mainQuery(t, `select pg_terminate_backend(pid) from pg_stat_activity where usename = $1 and pid <> $2`, [
      t.main.readerRole,
      otherPid,
    ]);
    // The pool learns of each ended backend from its FATAL message, asynchronously; a run handed one of
    // those idle clients first would fail on the terminated connection, not on the limit.
    const readerPool = t.app.dataSources.get('main')!.pool;
    await expect.poll(() => readerPool.totalCount, { timeout: 5000, interval: 20 }).toBe(0);
    try {
      const sort = await failure(t, editor, 'select g from generate_series(1, 3000000) g order by g desc');
      expect(sort).toMatchObject({ status: 400, code: 'resource_limit', pgCode: '53400' });
      expect(sort.message).toMatch(/temp_file_limit/);
      expect(await failure(t, editor, "select set_config('temp_file_limit', '100GB', false)")).toMatchObject({
        status: 400,
        code: 'statement_not_allowed',
      });
      expect(await asReader("select set_config('temp_file_limit', '100GB', false)")).toMatchObject({ ok: false, code: '42501' });
      expect(await failure(t, editor, "set temp_file_limit = '100GB'")).toMatchObject({ code: 'statement_not_allowed' });
      expect(await asReader("set temp_file_limit = '100GB'")).toMatchObject({ ok: false, code: '42501' });
      // The engine keeps serving after the failed run.
      expect((await rows(t, editor, 'select 1 as ok')).rows).toEqual([[1]]);
    } finally {
      await mainQuery(t, `alter role ${t.main.readerRole} set temp_file_limit = '1GB'`);
    }
  });
});
