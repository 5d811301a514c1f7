// Audit review at scale (issue #7): loads N audit events (default 5,000,000) as a valid hash chain, then
// times the first page of every admin filter and full / incremental verification.
// Run: npm run bench -- audit [--events N]. Uses BENCH_DATABASE_URL (a superuser URL) or an embedded
// PostgreSQL in a temporary folder.
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Database } from '../schema/database.js';
import { provisionToolsDatabase } from '../schema/provision.js';
import { canonicalText, GENESIS_HASH, type ChainRow } from '../server/audit/chain.js';
import { listEvents, type AuditFilter } from '../server/audit/repository.js';
import { AuditLog } from '../server/audit/service.js';
import { migrateToolsDb } from '../server/db/migrate.js';
import { connectToolsDb } from '../server/db/tools-db.js';
import { startEmbeddedCluster } from '../server/demo/embedded-cluster.js';

const ACTIONS: Array<[string, number]> = [
  ['run.started', 0.4],
  ['run.finished', 0.34],
  ['run.failed', 0.04],
  ['run.cancelled', 0.01],
  ['run.csv_downloaded', 0.03],
  ['auth.login', 0.06],
  ['auth.logout', 0.03],
  ['query.updated', 0.05],
  ['query.created', 0.02],
  ['audit.read', 0.02],
];
const SOURCES: Array<[string, number]> = [
  ['main', 0.7],
  ['replica', 0.25],
  ['analytics', 0.05],
];
const TABLES = ['notifications', 'jobs', 'templates', 'services', 'users', 'inbound_sms', 'letters', 'invoices'];

/** A deterministic generator, so every run loads the same data. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(weighted: Array<[T, number]>, r: number): T {
  let sum = 0;
  for (const [value, weight] of weighted) if (r < (sum += weight)) return value;
  return weighted.at(-1)![0];
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
/** The timestamp exactly as audit_canonical prints it. */
function isoMicros(ms: number, micros: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}${pad(micros, 3)}Z`;
}

type Row = Omit<ChainRow, 'prev_hash' | 'hash'> & { prev_hash: Buffer; hash: Buffer };

async function load(ownerUrl: string, total: number): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  const next = random(42);
  const start = Date.now() - 365 * 86_400_000;
  const step = (365 * 86_400_000) / total;
  let prev: Buffer = GENESIS_HASH;
  const started = Date.now();
  await client.query('alter table audit_events disable trigger audit_events_chain');
  for (let from = 1; from <= total; from += 10_000) {
    const batch: Row[] = [];
    for (let seq = from; seq < Math.min(from + 10_000, total + 1); seq++) {
      const action = pick(ACTIONS, next());
      const isRun = action.startsWith('run.');
      const actor = 1 + Math.floor(next() ** 2 * 500);
      const queryId = isRun && next() < 0.7 ? String(1 + Math.floor(next() * 3000)) : null;
      const table = TABLES[Math.floor(next() * TABLES.length)]!;
      const service = 1 + Math.floor(next() * 40);
      const row: Row = {
        seq: String(seq),
        // Strictly increasing with seq, as the chain trigger guarantees.
        occurred_at: isoMicros(Math.floor(start + seq * step), seq % 1000),
        actor_user_id: String(actor),
        actor_email: `user${actor}@example.com`,
        action,
        data_source: isRun ? pick(SOURCES, next()) : null,
        query_id: queryId,
        query_version: queryId ? String(1 + Math.floor(next() * 20)) : null,
        outcome:
          action === 'run.failed' ? 'error' : action === 'run.cancelled' ? 'cancelled' : action === 'run.finished' ? 'ok' : null,
        row_count: action === 'run.finished' ? String(Math.floor(next() * 100_000)) : null,
        duration_ms: action === 'run.finished' || action === 'run.failed' ? String(Math.floor(next() * 5000)) : null,
        sql: isRun
          ? `select * from ${table} where service_id = ${service} and created_at > now() - interval '${1 + (seq % 30)} days' -- r${seq % 100_003}`
          : null,
        params: isRun && next() < 0.3 ? `{"service_id": ${service}}` : null,
        error_code:
          action === 'run.failed'
            ? pick(
                [
                  ['syntax_error', 0.5],
                  ['query_timeout', 0.3],
                  ['permission_denied', 0.2],
                ],
                next(),
              )
            : null,
        client_ip: `10.0.${actor % 256}.${(actor * 7) % 256}`,
        details: '{}',
        prev_hash: prev,
        hash: Buffer.alloc(0),
      };
      row.hash = createHash('sha256').update(prev).update(canonicalText(row), 'utf8').digest();
      prev = row.hash;
      batch.push(row);
    }
    const column = (name: keyof Row) => batch.map((r) => r[name]);
    await client.query(
      `insert into audit_events (seq, occurred_at, actor_user_id, actor_email, action, data_source, query_id, query_version, outcome,
         row_count, duration_ms, sql, params, error_code, client_ip, details, prev_hash, hash)
       select * from unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::int[],
         $9::text[], $10::bigint[], $11::int[], $12::text[], $13::jsonb[], $14::text[], $15::text[], $16::jsonb[], $17::bytea[], $18::bytea[])`,
      (
        [
          'seq',
          'occurred_at',
          'actor_user_id',
          'actor_email',
          'action',
          'data_source',
          'query_id',
          'query_version',
          'outcome',
          'row_count',
          'duration_ms',
          'sql',
          'params',
          'error_code',
          'client_ip',
          'details',
          'prev_hash',
          'hash',
        ] as const
      ).map(column),
    );
    if ((from - 1) % 500_000 === 0)
      console.log(`audit: loaded ${from - 1} events (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  await client.query(
    'update audit_chain_head set seq = $1, hash = $2, occurred_at = (select max(occurred_at) from audit_events) where id = 1',
    [String(total), prev],
  );
  await client.query('alter table audit_events enable trigger audit_events_chain');
  await client.query('vacuum analyze audit_events');
  await client.end();
  console.log(`audit: loaded ${total} events in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

async function timeFirstPage(db: Kysely<Database>, filter: AuditFilter): Promise<{ ms: number; rows: number }> {
  const samples: number[] = [];
  let rows = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    rows = (await listEvents(db, filter, 51)).length;
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[2]!, rows }; // median of 5 (the first warms the cache)
}

export async function benchAudit(args: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { events: { type: 'string', default: '5000000' } },
    allowPositionals: true,
    strict: false,
  });
  const total = Number(values.events);
  let adminUrl = process.env.BENCH_DATABASE_URL;
  let cleanup = async () => undefined;
  if (!adminUrl) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'porthole-bench-audit-'));
    await chmod(dir, 0o755);
    const cluster = await startEmbeddedCluster({ dir, log: () => undefined });
    adminUrl = cluster.adminUrl;
    cleanup = async () => {
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  try {
    const spec = {
      database: 'porthole_bench_audit',
      ownerRole: 'bench_owner',
      ownerPassword: 'bench-owner-pw',
      appRole: 'bench_app',
      appPassword: 'bench-app-pw',
    };
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`drop database if exists porthole_bench_audit with (force)`);
    await admin.end();
    const { ownerUrl, appUrl } = await provisionToolsDatabase(adminUrl, spec);
    await migrateToolsDb({ toolsDatabaseUrl: appUrl, toolsMigrationUrl: ownerUrl });
    await load(ownerUrl, total);

    const serving = connectToolsDb(appUrl, { max: 2 });
    const db = serving.db;
    const mid = String(Math.floor(total / 2));
    const monthAgo = new Date(Date.now() - 30 * 86_400_000);
    const filters: Array<[string, AuditFilter]> = [
      ['no filter', {}],
      ['actor (busy user)', { actorId: '1' }],
      ['actor (quiet user)', { actorId: '499' }],
      ['action = run.failed', { action: 'run.failed' }],
      ['data source = analytics', { dataSource: 'analytics' }],
      ['query id', { queryId: '1234' }],
      ['query id + version', { queryId: '1234', queryVersion: 7 }],
      ['outcome = cancelled', { outcome: 'cancelled' }],
      ['time range (one day, a month ago)', { from: monthAgo, to: new Date(monthAgo.getTime() + 86_400_000) }],
      ['SQL text, common (notifications)', { sqlContains: 'notifications' }],
      ['SQL text, rare (-- r99991)', { sqlContains: '-- r99991' }],
      ['SQL text, absent', { sqlContains: 'no_such_table_anywhere' }],
      ['actor + action', { actorId: '7', action: 'run.failed' }],
      ['actor + time range', { actorId: '7', from: monthAgo, to: new Date(monthAgo.getTime() + 7 * 86_400_000) }],
      ['page deep in the log (cursor at the middle)', { beforeSeq: mid }],
      ['query id, page 2', { queryId: '1234', beforeSeq: mid }],
    ];
    console.log(
      `\naudit: first page (50 rows) with ${total.toLocaleString('en-US')} events, median of 5 runs (target <= 150 ms)`,
    );
    let worst = 0;
    for (const [label, filter] of filters) {
      const { ms, rows } = await timeFirstPage(db, filter);
      worst = Math.max(worst, ms);
      console.log(`  ${label.padEnd(44)} ${ms.toFixed(1).padStart(7)} ms  ${rows} rows`);
    }
    console.log(`  worst: ${worst.toFixed(1)} ms`);

    const log = new AuditLog(db);
    let t0 = performance.now();
    const full = await log.verify({ full: true });
    console.log(
      `\naudit: full verification ${full.ok ? 'ok' : `FAILED: ${full.problem}`}: ${full.events} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    for (let i = 0; i < 1000; i++)
      await log.record({ action: 'run.started', actor: { id: '1', email: 'user1@example.com' }, sql: 'select 1' });
    t0 = performance.now();
    const incremental = await log.verify();
    console.log(
      `audit: incremental verification after 1,000 new events: ${incremental.ok ? 'ok' : 'FAILED'}, ${incremental.events} events in ${(performance.now() - t0).toFixed(0)} ms`,
    );
    const size = await sql<{
      table: string;
      total: string;
    }>`select pg_size_pretty(pg_table_size('audit_events')) as table, pg_size_pretty(pg_total_relation_size('audit_events')) as total`.execute(
      db,
    );
    console.log(`audit: table ${size.rows[0]!.table}, with indexes ${size.rows[0]!.total}`);
    await serving.close();
  } finally {
    await cleanup();
  }
}
