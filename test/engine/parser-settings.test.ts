// THREATS.md 48: the settings PostgreSQL's lexer depends on are pinned for every run, so the server parses
// the SQL exactly as the guard did, whatever the role or database sets (issue 21 item 5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { mainQuery, rows } from './support.js';

describe('parser settings pinned for every run', () => {
  let t: TestApp;
  let editor: SignedIn;

  /** New connections pick up role settings; end the pooled ones so the next run opens one. */
  const reconnectReaders = () =>
    mainQuery(t, `select pg_terminate_backend(pid) from pg_stat_activity where usename = $1 and pid <> pg_backend_pid()`, [
      t.main.readerRole,
    ]);

  beforeAll(async () => {
    t = await startTestApp();
    editor = await signIn(t, 'editor');
    await rows(t, editor, 'select 1'); // the source's self-check has finished before its connections are ended
    await mainQuery(
      t,
      `alter role ${t.main.readerRole} set standard_conforming_strings = off;
       alter role ${t.main.readerRole} set backslash_quote = on`,
    );
    await reconnectReaders();
  });
  afterAll(async () => {
    await mainQuery(
      t,
      `alter role ${t.main.readerRole} reset standard_conforming_strings; alter role ${t.main.readerRole} reset backslash_quote`,
    );
    await t?.close();
  });

  it('runs SQL the way the guard read it, with standard_conforming_strings off for the role (THREATS 48)', async () => {
    // The guard (standard strings) sees one string literal; with the setting off the server would see the
    // string '\'' followed by a call the guard never judged.
    const sql = String.raw`select '\'', pg_advisory_xact_lock(1) as hidden --'`;
    const result = await rows(t, editor, sql);
    expect(result.columns.map((c) => c.name)).toEqual(['?column?']);
    expect(result.rows).toEqual([[String.raw`\', pg_advisory_xact_lock(1) as hidden --`]]);
    const settings = await rows(
      t,
      editor,
      "select current_setting('standard_conforming_strings') as scs, current_setting('backslash_quote') as bq",
    );
    expect(settings.rows).toEqual([['on', 'safe_encoding']]);
    // The role's setting is in force outside Porthole's runs: the test would prove nothing otherwise.
    const { rows: role } = await mainQuery(
      t,
      `select setconfig from pg_db_role_setting where setrole = (select oid from pg_roles where rolname = $1)`,
      [t.main.readerRole],
    );
    expect(role[0].setconfig).toContain('standard_conforming_strings=off');
  });
});
