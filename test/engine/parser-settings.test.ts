// THREATS.md 48: the settings PostgreSQL's lexer depends on are pinned for every run, so the server parses
// the SQL exactly as the guard did, whatever the role or database sets (issue 21 item 5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { createDataSourceRegistry, type DataSourceRegistry } from '../../server/data-sources/registry.js';
import { connectToolsDb, type ToolsDb } from '../../server/db/tools-db.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { mainQuery, rows } from './support.js';

describe('parser settings pinned for every run', () => {
  let base: TestApp;
  let t: TestApp; // an app whose pools open their connections after the role's settings changed
  let toolsDb: ToolsDb;
  let dataSources: DataSourceRegistry;
  let editor: SignedIn;

  beforeAll(async () => {
    base = await startTestApp();
    await mainQuery(
      base,
      `alter role ${base.main.readerRole} set standard_conforming_strings = off;
       alter role ${base.main.readerRole} set backslash_quote = on`,
    );
    // New connections pick up role settings: a second app on the same databases opens only new ones
    // (ending the first app's pooled connections instead races with the pool handing them out).
    toolsDb = connectToolsDb(base.tools.appUrl, { max: 2 });
    dataSources = createDataSourceRegistry(base.config);
    t = { ...base, app: await buildApp({ config: base.config, toolsDb, dataSources }) };
    editor = await signIn(t, 'editor');
  });
  afterAll(async () => {
    await mainQuery(
      base,
      `alter role ${base.main.readerRole} reset standard_conforming_strings; alter role ${base.main.readerRole} reset backslash_quote`,
    );
    await t?.app.close();
    await toolsDb?.close();
    await dataSources?.close();
    await base?.close();
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
