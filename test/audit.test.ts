// The audit log's guarantees (THREATS.md 41-42), checked as the serving role on a real PostgreSQL.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalText, CHAIN_COLUMNS_SQL, type ChainRow } from '../server/audit/chain.js';
import { AuditLog } from '../server/audit/service.js';
import { connectToolsDb, type ToolsDb } from '../server/db/tools-db.js';
import { createToolsDatabase, type TestToolsDatabase } from './support/databases.js';
import { operatorEnv, runOperatorCli } from './support/operator.js';

async function queryAs(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

describe('audit log', () => {
  let tools: TestToolsDatabase;
  let serving: ToolsDb;
  let audit: AuditLog;

  beforeAll(async () => {
    tools = await createToolsDatabase();
    serving = connectToolsDb(tools.appUrl, { max: 10 });
    audit = new AuditLog(serving.db);
  });
  afterAll(async () => {
    await serving.close();
    await tools.drop();
  });

  it('chains events and verifies an empty and a growing log', async () => {
    expect(await audit.verify()).toMatchObject({ ok: true, events: 0, headSeq: '0' });
    const first = await audit.record({ action: 'system.started', details: { demo: false } });
    const second = await audit.record({
      action: 'run.finished',
      actor: { id: '42', email: 'dev@example.com' },
      dataSource: 'main',
      queryId: '7',
      queryVersion: 3,
      outcome: 'ok',
      rowCount: 12,
      durationMs: 8.6,
      sql: "select 'tab\there', 'quote\"', 'back\\slash', 'nul-ish \u0001', 'émoji 🚀', '\u2028'",
      params: { n: 1, big: '12345678901234567890', nested: { b: [1, 2.5, null, true], a: 'x' } },
    });
    expect([first, second]).toEqual(['1', '2']);
    expect(await audit.verify({ full: true })).toMatchObject({ ok: true, events: 2, headSeq: '2' });
  });

  it('rebuilds the canonical text exactly as PostgreSQL formats it', async () => {
    const rows = await queryAs(
      tools.adminUrl,
      `select ${CHAIN_COLUMNS_SQL}, audit_canonical(e) as pg_text from audit_events e order by seq`,
    );
    expect(rows.rowCount).toBeGreaterThan(0);
    for (const row of rows.rows as Array<ChainRow & { pg_text: string }>) expect(canonicalText(row)).toBe(row.pg_text);
  });

  it('ignores seq and hashes supplied by the inserter', async () => {
    const result = await queryAs(
      tools.appUrl,
      `insert into audit_events (seq, occurred_at, action, prev_hash, hash) values (999, '2000-01-01', 'forged', '\\x00', '\\x00') returning seq, occurred_at`,
    );
    expect(result.rows[0].seq).toBe('3');
    expect(new Date(result.rows[0].occurred_at).getFullYear()).toBeGreaterThan(2000);
    expect((await audit.verify()).ok).toBe(true);
  });

  // The audit page verifies while its own listing appends an `audit.read` event: that is the log
  // growing, not events removed (it once showed "Broken" under load and the browser test timed out).
  it('is not fooled by events appended while it verifies', async () => {
    for (let i = 0; i < 300; i++) await audit.record({ action: 'system.started', details: { filler: i } });
    let verifying = true;
    const appended: string[] = [];
    const appender = (async () => {
      while (verifying) appended.push(await audit.record({ action: 'audit.read', details: { during: 'verify' } }));
    })();
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await audit.verify({ full: true, batchSize: 10 }));
    verifying = false;
    await appender;
    expect(appended.length).toBeGreaterThan(0);
    for (const result of results) expect(result).toMatchObject({ ok: true });
    expect(await audit.verify()).toMatchObject({ ok: true });
  });

  it.each([
    ['update audit_events set action = $$x$$ where seq = 1', /append-only|permission denied/],
    ['delete from audit_events where seq = 1', /append-only|permission denied/],
    ['truncate audit_events', /permission denied/],
    ['alter table audit_events disable trigger all', /must be owner/],
    ['alter table audit_events disable trigger audit_events_no_update_delete', /must be owner/],
    ['drop trigger audit_events_chain on audit_events', /must be owner/],
    ['update audit_chain_head set seq = 0', /permission denied/],
    [
      "create or replace function audit_canonical(e audit_events) returns text language sql as 'select ''x'''",
      /must be owner|permission denied/,
    ],
  ])('denies the serving role: %s (THREATS.md 41)', async (statement, error) => {
    await expect(queryAs(tools.appUrl, statement)).rejects.toThrow(error);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('even the owner cannot update, delete or truncate while the triggers stand', async () => {
    await expect(queryAs(tools.ownerUrl, 'update audit_events set action = $$x$$')).rejects.toThrow(/append-only/);
    await expect(queryAs(tools.ownerUrl, 'delete from audit_events')).rejects.toThrow(/append-only/);
    await expect(queryAs(tools.ownerUrl, 'truncate audit_events')).rejects.toThrow(/append-only/);
  });

  it('chains 8 concurrent writers without a fork (THREATS.md 42)', async () => {
    const before = Number((await audit.verify({ full: true })).headSeq);
    const writers = Array.from({ length: 8 }, (_, writer) =>
      (async () => {
        const own = connectToolsDb(tools.appUrl, { max: 1 });
        try {
          for (let i = 0; i < 40; i++) await new AuditLog(own.db).record({ action: 'run.started', details: { writer, i } });
        } finally {
          await own.close();
        }
      })(),
    );
    await Promise.all(writers);
    const result = await audit.verify({ full: true, batchSize: 37 });
    expect(result).toMatchObject({ ok: true, events: before + 320, headSeq: String(before + 320) });
    // Time never goes backwards along the chain, even with concurrent writers (time filters rely on it).
    const backwards = await queryAs(
      tools.adminUrl,
      `select count(*)::int as n from (select occurred_at <= lag(occurred_at) over (order by seq) as back from audit_events) t where back`,
    );
    expect(backwards.rows[0].n).toBe(0);
  });

  it('names a row a superuser edited, and the npm script exits non-zero (THREATS.md 42)', async () => {
    await queryAs(
      tools.adminUrl,
      `begin; set local session_replication_role = replica; update audit_events set sql = 'select 1 -- innocent' where seq = 2; commit`,
    );
    const result = await audit.verify({ full: true });
    expect(result).toMatchObject({ ok: false, firstBadSeq: '2', events: 1 });
    expect(result.problem).toMatch(/changed after it was written/);

    const cli = await runOperatorCli('audit-verify', [], operatorEnv(tools.appUrl));
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/^FAILED at seq 2: /);
  });

  it('notices events deleted by a superuser, in the middle or at the end', async () => {
    const fresh = await createToolsDatabase();
    const own = connectToolsDb(fresh.appUrl, { max: 1 });
    try {
      const log = new AuditLog(own.db);
      for (let i = 0; i < 5; i++) await log.record({ action: 'auth.login', details: { i } });
      await queryAs(
        fresh.adminUrl,
        `begin; set local session_replication_role = replica; delete from audit_events where seq = 5; commit`,
      );
      expect(await log.verify({ full: true })).toMatchObject({
        ok: false,
        firstBadSeq: '5',
        problem: expect.stringMatching(/removed/),
      });
      await queryAs(
        fresh.adminUrl,
        `begin; set local session_replication_role = replica; delete from audit_events where seq = 3; commit`,
      );
      expect(await log.verify({ full: true })).toMatchObject({
        ok: false,
        firstBadSeq: '3',
        problem: expect.stringMatching(/missing/),
      });
    } finally {
      await own.close();
      await fresh.drop();
    }
  });
});

describe('audit:verify command', () => {
  it('prints ok with the event count and head', async () => {
    const tools = await createToolsDatabase();
    const own = connectToolsDb(tools.appUrl, { max: 1 });
    try {
      await new AuditLog(own.db).record({ action: 'system.started' });
      const { code, stdout } = await runOperatorCli('audit-verify', [], operatorEnv(tools.appUrl));
      expect({ code, stdout }).toEqual({ code: 0, stdout: 'ok: 1 events, head 1\n' });
    } finally {
      await own.close();
      await tools.drop();
    }
  });
});
