// The result store (server/results/store.ts) on a real tools DB, as the serving role: compression, reads
// only for the authorised query or the run's owner, every read audited, caps with oldest-first eviction,
// purge and expiry.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../server/audit/service.js';
import { connectToolsDb, type ToolsDb } from '../../server/db/tools-db.js';
import { gzipSync, zstdDecompressSync } from 'node:zlib';
import { insertResult } from '../../server/results/repository.js';
import { cacheKey, ResultStore, type ResultToStore } from '../../server/results/store.js';
import { createToolsDatabase, type TestToolsDatabase } from '../support/databases.js';

describe('result store', () => {
  let tools: TestToolsDatabase;
  let serving: ToolsDb;
  let audit: AuditLog;
  let owner: string;
  let other: string;
  let queryId: string;

  beforeAll(async () => {
    tools = await createToolsDatabase();
    serving = connectToolsDb(tools.appUrl, { max: 5 });
    audit = new AuditLog(serving.db);
    const users = await serving.db
      .insertInto('users')
      .values([
        { issuer: 'test', subject: 'owner', email: 'owner@example.com', name: 'Owner', role: 'editor' },
        { issuer: 'test', subject: 'other', email: 'other@example.com', name: 'Other', role: 'editor' },
      ])
      .returning('id')
      .execute();
    owner = users[0]!.id;
    other = users[1]!.id;
    queryId = await insertQuery(owner);
  });
  afterAll(async () => {
    await serving.close();
    await tools.drop();
  });

  async function insertQuery(ownerId: string): Promise<string> {
    return serving.db.transaction().execute(async (trx) => {
      const { id } = await trx
        .insertInto('queries')
        .values({ owner_id: ownerId, visibility: 'team', current_version: 1 })
        .returning('id')
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('query_versions')
        .values({
          query_id: id,
          version: 1,
          author_id: ownerId,
          name: 'q',
          description: '',
          tags: [],
          data_source: 'main',
          sql: 'select 1',
          variables: '[]',
          chart: null,
        })
        .execute();
      return id;
    });
  }

  const rows = (n: number, width = 40) =>
    Array.from({ length: n }, (_, i) => JSON.stringify([i, `row ${i} ${'x'.repeat(width)}`])).join(',');

  /** A result as the tests write it: rows as text (the store takes them as UTF-8 bytes). */
  type TextResult = Omit<ResultToStore, 'rowsJson'> & { rowsJson: string };

  function entry(store: ResultStore, fields: Partial<TextResult> & { params?: Record<string, unknown>; qid?: string } = {}) {
    const qid = fields.qid ?? queryId;
    const key = cacheKey({ queryId: qid, queryVersion: 1, dataSource: 'main', params: fields.params ?? {}, tier: null });
    const result: TextResult = {
      runId: randomUUID(),
      ownerId: owner,
      query: { id: qid, version: 1 },
      dataSource: 'main',
      cacheKey: key,
      tier: null,
      columns: [
        { name: 'n', type: 'number' },
        { name: 'label', type: 'string' },
      ],
      rowsJson: rows(100),
      rowCount: 100,
      truncated: false,
      ttlSeconds: 3600,
      ...fields,
    };
    return { result, key, put: () => store.put({ ...result, rowsJson: Buffer.from(result.rowsJson) }) };
  }

  const cacheHit = (who: string) => (found: { runId: string }) => ({
    action: 'run.cache_hit' as const,
    actor: { id: who, email: null },
    queryId,
    details: { fromRunId: found.runId },
  });

  it('keys by query version, source, canonical parameter values and tier', () => {
    const base = { queryId: '1', queryVersion: 1, dataSource: 'main', params: { a: 1, b: 'x' }, tier: null };
    expect(cacheKey(base)).toBe(cacheKey({ ...base, params: { b: 'x', a: 1 } }));
    expect(cacheKey(base)).not.toBe(cacheKey({ ...base, queryVersion: 2 }));
    expect(cacheKey(base)).not.toBe(cacheKey({ ...base, dataSource: 'replica' }));
    expect(cacheKey(base)).not.toBe(cacheKey({ ...base, params: { a: 2, b: 'x' } }));
    expect(cacheKey(base)).not.toBe(cacheKey({ ...base, tier: 'pii' }));
  });

  it('stores compressed, reads back by key within the max age, and audits the read first', async () => {
    const store = new ResultStore(serving.db, audit, { maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 30 });
    const { result, key, put } = entry(store, { params: { day: '2026-11-30' } });
    const outcome = await put();
    expect(outcome.stored).toBe(true);
    expect(outcome.byteSize).toBeLessThan(Buffer.byteLength(result.rowsJson) / 3);

    const query = { id: queryId, version: 1, dataSource: 'main' };
    const found = await store.readCached({ query, cacheKey: key, maxAgeSeconds: 300, audit: cacheHit(other) });
    expect(found?.runId).toBe(result.runId);
    expect(found?.rowsJson.toString('utf8')).toBe(result.rowsJson);
    expect(found?.columns).toEqual(result.columns);
    const events = await serving.db
      .selectFrom('audit_events')
      .select(['action', 'actor_user_id', 'details'])
      .where('action', '=', 'run.cache_hit')
      .execute();
    expect(events).toEqual([{ action: 'run.cache_hit', actor_user_id: other, details: { fromRunId: result.runId } }]);

    // Max age 0 is "off"; another version or source than the authorised one finds nothing.
    expect(await store.readCached({ query, cacheKey: key, maxAgeSeconds: 0, audit: cacheHit(other) })).toBeUndefined();
    expect(
      await store.readCached({ query: { ...query, version: 2 }, cacheKey: key, maxAgeSeconds: 300, audit: cacheHit(other) }),
    ).toBeUndefined();
    expect(
      await store.readCached({ query: { ...query, dataSource: 'x' }, cacheKey: key, maxAgeSeconds: 300, audit: cacheHit(other) }),
    ).toBeUndefined();
    // Older than the max age: a miss.
    await sql`update results set computed_at = now() - interval '10 minutes' where run_id = ${result.runId}`.execute(serving.db);
    expect(await store.readCached({ query, cacheKey: key, maxAgeSeconds: 300, audit: cacheHit(other) })).toBeUndefined();
  });

  it('packs new results with zstd and still reads the gzip ones written before', async () => {
    const store = new ResultStore(serving.db, audit, { maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 30 });
    const query = { id: queryId, version: 1, dataSource: 'main' };
    const packed = entry(store, { params: { encoding: 'zstd' } });
    await packed.put();
    const stored = await serving.db
      .selectFrom('results')
      .select(['encoding', 'body'])
      .where('run_id', '=', packed.result.runId)
      .executeTakeFirstOrThrow();
    expect(stored.encoding).toBe('zstd');
    expect(zstdDecompressSync(stored.body).toString('utf8')).toBe(packed.result.rowsJson);

    // A row as the store wrote it before zstd: gzip, marked so.
    const old = entry(store, { params: { encoding: 'gzip' } });
    await insertResult(serving.db, {
      runId: old.result.runId,
      ownerId: owner,
      queryId,
      queryVersion: 1,
      dataSource: 'main',
      cacheKey: old.key,
      tier: null,
      columns: old.result.columns,
      rowCount: 100,
      truncated: false,
      encoding: 'gzip',
      body: gzipSync(old.result.rowsJson),
      byteSize: 1,
      ttlSeconds: 60,
    });
    const found = await store.readCached({ query, cacheKey: old.key, maxAgeSeconds: 300, audit: cacheHit(other) });
    expect(found?.rowsJson.toString('utf8')).toBe(old.result.rowsJson);
  });

  it("serves this task's rows from memory, another task's from the tools DB, and neither once the entry is gone", async () => {
    const options = { maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 30 };
    const writer = new ResultStore(serving.db, audit, options);
    const otherTask = new ResultStore(serving.db, audit, options);
    const { result, key, put } = entry(writer, { params: { tasks: 2 } });
    await put();
    const read = (store: ResultStore) =>
      store.readCached({
        query: { id: queryId, version: 1, dataSource: 'main' },
        cacheKey: key,
        maxAgeSeconds: 300,
        audit: cacheHit(other),
      });

    // Another task has nothing in memory: it reads the packed body and unpacks it.
    expect((await read(otherTask))?.rowsJson.toString('utf8')).toBe(result.rowsJson);
    // Both now hold the rows unpacked: a body spoilt in the tools DB is not read again.
    await sql`update results set body = ${Buffer.from('not zstd')} where run_id = ${result.runId}`.execute(serving.db);
    expect((await read(writer))?.rowsJson.toString('utf8')).toBe(result.rowsJson);
    expect((await read(otherTask))?.rowsJson.toString('utf8')).toBe(result.rowsJson);
    // A fresh task must read that body, and fails rather than serve something else.
    await expect(read(new ResultStore(serving.db, audit, options))).rejects.toThrow();

    // The tools DB decides: gone there (purged, evicted or expired by any task), it is served by none.
    await serving.db.deleteFrom('results').where('run_id', '=', result.runId).execute();
    expect(await read(writer)).toBeUndefined();
    expect(await read(otherTask)).toBeUndefined();
  });

  it('gives a run by id to its owner or an admin only, for the query it came from', async () => {
    const store = new ResultStore(serving.db, audit, { maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 30 });
    const { result, put } = entry(store, { cacheKey: null });
    await put();
    const query = { id: queryId, version: 1, dataSource: 'main' };
    const read = (reader: { id: string; admin: boolean }, q: typeof query | null) =>
      store.readRun({
        reader,
        runId: result.runId,
        query: q,
        audit: () => ({ action: 'run.result_read', actor: { id: reader.id, email: null }, details: { runId: result.runId } }),
      });
    expect(await read({ id: other, admin: false }, query)).toBeUndefined();
    expect(await read({ id: owner, admin: false }, null)).toBeUndefined();
    expect(await read({ id: owner, admin: false }, { ...query, id: '999999' })).toBeUndefined();
    expect((await read({ id: owner, admin: false }, query))?.rowsJson.toString('utf8')).toBe(result.rowsJson);
    expect((await read({ id: other, admin: true }, query))?.runId).toBe(result.runId);
    const reads = await serving.db
      .selectFrom('audit_events')
      .select('actor_user_id')
      .where('action', '=', 'run.result_read')
      .orderBy('seq')
      .execute();
    expect(reads.map((r) => r.actor_user_id)).toEqual([owner, other]);
  });

  it('returns nothing when the read cannot be audited', async () => {
    const store = new ResultStore(serving.db, audit, { maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 30 });
    const { key, put } = entry(store, { params: { unaudited: true } });
    await put();
    await expect(
      store.readCached({
        query: { id: queryId, version: 1, dataSource: 'main' },
        cacheKey: key,
        maxAgeSeconds: 300,
        // An actor id the audit table cannot hold: its insert fails, so the rows must not be handed out.
        audit: () => ({ action: 'run.cache_hit', actor: { id: 'not-a-user-id', email: null } }),
      }),
    ).rejects.toThrow();
  });

  it('refuses an entry over the per-entry cap and evicts the oldest beyond the total cap', async () => {
    await serving.db.deleteFrom('results').execute();
    const probe = new ResultStore(serving.db, audit, { maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 30 });
    const sample = await entry(probe, { params: { probe: true } }).put();
    await serving.db.deleteFrom('results').execute();
    const size = sample.byteSize;
    const store = new ResultStore(serving.db, audit, { maxEntryBytes: size * 2, maxTotalBytes: Math.floor(size * 3.5) }); // whole bytes, as the setting is

    const big = await entry(store, {
      rowsJson: Array.from({ length: 2000 }, () => JSON.stringify([randomUUID()])).join(','),
    }).put();
    expect(big).toMatchObject({ stored: false, reason: 'entry_too_large' });

    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const e = entry(store, { params: { i } });
      ids.push(e.result.runId);
      expect(await e.put()).toMatchObject({ stored: true, evicted: 0 });
    }
    const fourth = entry(store, { params: { i: 3 } });
    expect(await fourth.put()).toMatchObject({ stored: true, evicted: 1 });
    const left = await serving.db.selectFrom('results').select('run_id').execute();
    expect(left.map((r) => r.run_id).sort()).toEqual([...ids.slice(1), fourth.result.runId].sort());
    expect(await store.totalBytes()).toBeLessThanOrEqual(store.options.maxTotalBytes);
  });

  it('deletes by query (purge) and when expired', async () => {
    const store = new ResultStore(serving.db, audit, { maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 30 });
    const second = await insertQuery(owner);
    const a = entry(store, { params: { p: 'a' } });
    const b = entry(store, { qid: second });
    const c = entry(store, { params: { p: 'c' }, ttlSeconds: 1 });
    await Promise.all([a.put(), b.put(), c.put()]);
    expect(await store.deleteForQuery(second)).toBe(1);
    await sql`update results set expires_at = now() - interval '1 second' where run_id = ${c.result.runId}`.execute(serving.db);
    expect(await store.deleteExpired()).toBe(1);
    const left = await serving.db.selectFrom('results').select('run_id').execute();
    expect(left.map((r) => r.run_id)).toContain(a.result.runId);
    expect(left.map((r) => r.run_id)).not.toContain(b.result.runId);
    expect(left.map((r) => r.run_id)).not.toContain(c.result.runId);
    // The foreign key is the second layer: deleting the query row removes what the store did not.
    const d = entry(store, { qid: second, params: { again: true } });
    await d.put();
    await serving.db.deleteFrom('queries').where('id', '=', second).execute();
    expect(await serving.db.selectFrom('results').select('run_id').where('run_id', '=', d.result.runId).execute()).toEqual([]);
  });
});
