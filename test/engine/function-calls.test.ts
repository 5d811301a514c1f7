// THREATS.md 45: a function is judged the same whatever syntax calls it, and names are resolved through
// the data source's own catalog: attribute notation, operators, casts, type input, views, and functions
// that alias or wrap a refused one. Runs through the API as the reader role; where a case needs the role
// to hold a grant a plain SELECT-only reader has (as on RDS, where pg_catalog's functions cannot be
// revoked), the test grants it, so the guard is the wall being tested.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSourceCatalog } from '../../server/engine/function-catalog.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { failure, mainQuery, rows, waitFor } from './support.js';

describe('function calls judged through the catalog', () => {
  let t: TestApp;
  let editor: SignedIn;

  beforeAll(async () => {
    t = await startTestApp();
    editor = await signIn(t, 'editor');
    const reader = t.main.readerRole;
    // What a table owner or DBA might have left in the database: aliases and wrappers of refused
    // functions, an operator and a cast that run one, and views over refused views.
    await mainQuery(
      t,
      `create function public.quiet_cancel(integer) returns boolean language internal strict as 'pg_cancel_backend';
       create function public.stop_session(integer) returns boolean language sql as 'select pg_catalog.pg_terminate_backend($1)';
       create function public.stop_twice(integer) returns boolean language sql as 'select public.stop_session($1)';
       create operator public.#! (rightarg = integer, function = pg_catalog.pg_cancel_backend);
       create type public.ticket as (id integer);
       create function public.ticket_of(text) returns public.ticket language sql as 'select row(pg_catalog.pg_advisory_lock(1)::text::int)::public.ticket';
       create cast (text as public.ticket) with function public.ticket_of(text);
       create view public.sessions as select pid, query from pg_catalog.pg_stat_activity;
       create view public.session_count as select count(*) from public.sessions;
       create view public.lock_view as select * from pg_locks;
       grant select on public.sessions, public.session_count, public.lock_view to ${reader};
       grant execute on function pg_catalog.pg_cancel_backend(integer) to ${reader};`,
    );
  });
  afterAll(() => t?.close());

  it('refuses functions, operators, casts and views that reach a refused function (THREATS 45)', async () => {
    const cases: Record<string, RegExp> = {
      'select public.quiet_cancel(1)': /^quiet_cancel\(\) is not available in Porthole: it signals server processes/,
      'select (1).quiet_cancel': /^quiet_cancel\(\) \(here written as an attribute/,
      'select stop_session(1)': /^stop_session\(\) is not available in Porthole: it calls pg_terminate_backend\(\)/,
      'select stop_twice(1)': /^stop_twice\(\) is not available in Porthole: it calls stop_session\(\)/,
      'select #! 1': /^The operator #! is not available in Porthole: it runs pg_cancel_backend\(\)/,
      'select operator(public.#!) 1': /^The operator #! is not available/,
      "select 'x'::text::ticket": /^The type ticket is not available in Porthole: it runs ticket_of\(\)/,
      'select cast(now()::text as public.ticket)': /^The type ticket is not available/,
      'select * from public.sessions': /^sessions is not available in Porthole: it uses pg_stat_activity/,
      'select * from session_count': /^session_count is not available in Porthole: it uses sessions/,
      'select * from pg_locks': /^pg_locks is not available in Porthole: it uses pg_lock_status\(\)/,
      'select * from pg_catalog.pg_stat_replication': /^pg_stat_replication is not available/,
      'select * from information_schema.tables, lock_view': /^lock_view is not available/,
    };
    for (const [sql, message] of Object.entries(cases)) {
      const error = await failure(t, editor, sql);
      expect(error.code, `${sql}: ${error.message}`).toBe('statement_not_allowed');
      expect(error.message, sql).toMatch(message);
    }
    // The same catalog allows what is harmless.
    const ok = await rows(
      t,
      editor,
      "select 1 + 1 as two, 'pg_class'::regclass::text as rel, now() > 'epoch'::timestamptz as later",
    );
    expect(ok.rows).toEqual([[2, 'pg_class', true]]);
    expect((await rows(t, editor, 'select count(*) > 0 as some from pg_stat_user_tables, pg_settings')).rows).toEqual([[true]]);
  });

  it('keeps a SELECT-only reader from cancelling another user’s query through attribute notation (THREATS 11, 45)', async () => {
    // Another Porthole user's long query, on its own connection as the same role.
    const other = new pg.Client({ connectionString: t.main.readerUrl });
    await other.connect();
    other.on('error', () => undefined);
    const pid = (await other.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const sleeping = other.query('select pg_sleep(30)').catch((error: Error) => error);
    try {
      await waitFor('the other query to start', async () => {
        const { rows: found } = await mainQuery(t, `select state from pg_stat_activity where pid = $1`, [pid]);
        return found[0]?.state === 'active';
      });
      for (const sql of [`select (${pid}).pg_cancel_backend`, `select s.pid.pg_cancel_backend from (select ${pid} as pid) s`]) {
        const error = await failure(t, editor, sql);
        expect(error.code, sql).toBe('statement_not_allowed');
      }
      const { rows: still } = await mainQuery(t, `select state, query from pg_stat_activity where pid = $1`, [pid]);
      expect(still[0]).toMatchObject({ state: 'active', query: 'select pg_sleep(30)' });
    } finally {
      await mainQuery(t, 'select pg_terminate_backend($1)', [pid]);
      await sleeping;
      await other.end().catch(() => undefined);
    }
  });

  it('resolves a newer server’s unreviewed volatile functions as refused', async () => {
    const client = new pg.Client({ connectionString: t.main.adminUrl });
    await client.connect();
    try {
      await client.query('begin');
      // Stands in for a function a future PostgreSQL adds to pg_catalog (rolled back below).
      await client.query(`create function pg_catalog.pg_future_thing() returns int language sql volatile as 'select 1'`);
      const catalog = await readSourceCatalog(client);
      expect(catalog.function('pg_future_thing')).toMatch(/has not reviewed yet/);
      expect(catalog.function('now')).toBeUndefined();
      expect(catalog.counts.relations).toBeGreaterThan(5);
    } finally {
      await client.query('rollback');
      await client.end();
    }
  });
});
