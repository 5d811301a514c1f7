// THREATS.md 46: every volatile or stable function in the running server's pg_catalog is classified in
// server/engine/function-classification.ts. Runs against the embedded PostgreSQL 18 by default and
// against any other server through TEST_DATABASE_URL (CI and the issue check PostgreSQL 15 too).
import { describe, expect, it } from 'vitest';
import { ALLOWED_FUNCTIONS, DENIAL_REASONS, DENIED_FUNCTIONS } from '../../server/engine/function-classification.js';
import { adminQuery } from '../support/databases.js';

describe('the classification of pg_catalog functions', () => {
  it('covers every volatile or stable function of the running server (THREATS 46)', async () => {
    const { rows } = await adminQuery(
      `select distinct proname::text as name from pg_proc
       where pronamespace = 'pg_catalog'::regnamespace and provolatile <> 'i' order by 1`,
    );
    const names = rows.map((row: { name: string }) => row.name);
    const unclassified = names.filter((name) => !(name in DENIED_FUNCTIONS) && !ALLOWED_FUNCTIONS.has(name));
    expect(unclassified, 'add each to function-classification.ts, allowed or denied with a reason').toEqual([]);
    const denied = names.filter((name) => name in DENIED_FUNCTIONS).length;
    const { rows: version } = await adminQuery('show server_version');
    console.warn(
      `PostgreSQL ${version[0].server_version}: ${names.length} volatile or stable pg_catalog functions, ` +
        `${denied} denied, ${names.length - denied} allowed`,
    );
    expect(denied).toBeGreaterThan(100);
  });

  it('lists no function as both allowed and denied, and gives every denial a reason', () => {
    expect(Object.keys(DENIED_FUNCTIONS).filter((name) => ALLOWED_FUNCTIONS.has(name))).toEqual([]);
    for (const [name, kind] of Object.entries(DENIED_FUNCTIONS)) expect(DENIAL_REASONS[kind], name).toMatch(/^it /);
  });

  it('denies what runs SQL from text, reads tables by name, signals, spies, writes WAL or server state', async () => {
    const { rows } = await adminQuery(
      `select distinct proname::text as name from pg_proc where pronamespace = 'pg_catalog'::regnamespace and (
         proname ~ '^(query|cursor|table|schema|database)_to_xml' or proname in ('ts_stat', 'ts_rewrite')
         or proname ~ '^lo_' or proname ~ 'advisory' or proname ~ '^pg_(read_|ls_|stat_file)' or proname ~ '^pg_stat_reset'
         or proname ~ '^pg_stat_get_backend_' or proname ~ 'replication_(slot|origin)'
         or proname in ('pg_cancel_backend', 'pg_terminate_backend', 'pg_stat_get_activity', 'pg_logical_emit_message',
                        'pg_switch_wal', 'pg_create_restore_point', 'pg_notify', 'set_config', 'nextval', 'setval',
                        'pg_reload_conf', 'pg_lock_status'))`,
    );
    expect(rows.length).toBeGreaterThan(40);
    for (const { name } of rows as Array<{ name: string }>) expect(DENIED_FUNCTIONS[name], name).toBeDefined();
  });
});
