// The result store: the one place results are kept (DESIGN.md "Shared pieces"), used by the dashboard
// cache and by background runs. Results live compressed (zstd; gzip rows from before stay readable) in
// the tools DB's `results` table.
//
// API (new ResultStore(db, audit, { maxEntryBytes, maxTotalBytes })):
// - put(result): stores one run's columns + rows (rowsJson: the engine's serialisation, JSON arrays
//   joined by commas) under its run id, with owner, query id + version (null for free SQL), data source,
//   cacheKey (null: never served to another run), tier, and a time to live. Refuses (stored: false) an
//   entry whose compressed size exceeds maxEntryBytes; evicts the oldest entries beyond maxTotalBytes.
// - readCached({ query, cacheKey, maxAgeSeconds, audit }): the newest entry under cacheKey
//   computed within maxAgeSeconds, for a query the caller's service has ALREADY authorised (`query` is
//   what that check returned, e.g. QueriesService.forRun); the entry must belong to that query version
//   and data source. Its metadata is read from the tools DB every time; its rows come unpacked from
//   this task's memory when the task stored or read them lately (RowsMemo), else from the tools DB.
// - readRun({ reader, runId, query, audit }): one run's result, for its owner or an admin only; `query`
//   is the authorised saved query it came from (null for free SQL) and must match the entry.
// - deleteForQuery(queryId) (purge), deleteExpired(), totalBytes().
// - cacheKey({ queryId, queryVersion, dataSource, params, tier }): sha256 of the canonical JSON.
// Every read takes the audit event to record (e.g. run.cache_hit, run.result_read) and records it before
// the rows are returned, so no read goes unaudited; a read whose audit row fails returns nothing.
// The store does not decide who may read a query: callers check access first and hand over the outcome.
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, zstdCompress, zstdDecompress } from 'node:zlib';
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import type { AuditEvent, AuditLog } from '../audit/service.js';
import { canonicalJson } from '../queries/content.js';
import { RowsMemo } from './rows-memo.js';
import {
  deleteByQueryId,
  deleteExpired,
  evictBeyond,
  findBody,
  findByRunId,
  findNewestByKey,
  insertResult,
  lockForEviction,
  totalBytes,
  type ResultEncoding,
  type ResultMetaRow,
} from './repository.js';

const ENCODING: ResultEncoding = 'zstd';
/**
 * zlib's async calls hand the work to libuv's pool one output chunk at a time (16 KB by default): a 1 MB
 * result took ~70 round trips through the event loop, 4x the unpacking itself. 1 MB chunks take one or two.
 */
const CHUNK = { chunkSize: 1024 * 1024 };
const packZstd = promisify(zstdCompress);
const unpackZstd = promisify(zstdDecompress);
const unpackGzip = promisify(gunzip);
const compress = (rows: Buffer) => packZstd(rows, CHUNK);
const decompressors: Record<ResultEncoding, (body: Buffer) => Promise<Buffer>> = {
  zstd: (body) => unpackZstd(body, CHUNK),
  gzip: (body) => unpackGzip(body, CHUNK),
};

export interface StoredColumn {
  name: string;
  type: string;
  dbType?: string;
}

export interface ResultStoreOptions {
  /** Compressed bytes one entry may take; larger results are not stored. */
  maxEntryBytes: number;
  /** Compressed bytes all entries may take together; beyond it the oldest go first. */
  maxTotalBytes: number;
}

export interface ResultToStore {
  runId: string;
  ownerId: string;
  /** The saved query and version that produced it; null for free SQL. */
  query: { id: string; version: number } | null;
  dataSource: string;
  /** From cacheKey(); null when this result must never answer another run. */
  cacheKey: string | null;
  tier: string | null;
  columns: StoredColumn[];
  /** Rows as the engine serialises them: JSON arrays joined by commas, without the outer brackets (UTF-8). */
  rowsJson: Buffer;
  rowCount: number;
  truncated: boolean;
  /** Seconds until the entry expires (it is deleted by deleteExpired()). */
  ttlSeconds: number;
}

export type PutOutcome =
  { stored: true; byteSize: number; evicted: number } | { stored: false; reason: 'entry_too_large'; byteSize: number };

/** A saved query as the caller's service returned it AFTER checking the reader may run it. */
export interface AuthorisedQuery {
  id: string;
  version: number;
  dataSource: string;
}

/** Who reads; `admin` lets a reader open another person's run by id. */
export interface Reader {
  id: string;
  admin: boolean;
}

export interface ResultMeta {
  runId: string;
  ownerId: string;
  queryId: string | null;
  queryVersion: number | null;
  dataSource: string;
  cacheKey: string | null;
  tier: string | null;
  rowCount: number;
  truncated: boolean;
  byteSize: number;
  computedAt: Date;
  expiresAt: Date;
}

export interface StoredResult extends ResultMeta {
  columns: StoredColumn[];
  /** UTF-8 bytes, as they go into a response (a cache hit never decodes them). */
  rowsJson: Buffer;
}

/** Builds the audit event for a read from what was found; recorded before the rows are returned. */
export type ReadAudit = (found: ResultMeta) => AuditEvent;

export interface CacheKeyParts {
  queryId: string;
  queryVersion: number;
  dataSource: string;
  params: Record<string, unknown>;
  tier: string | null;
}

/** Same query version, source, parameter values (key order ignored) and tier: the same key. */
export function cacheKey(parts: CacheKeyParts): string {
  const canonical = canonicalJson({
    q: parts.queryId,
    v: parts.queryVersion,
    ds: parts.dataSource,
    p: parts.params,
    t: parts.tier,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/** Unpacked rows kept in this task's memory (RowsMemo): about 30 results of 10,000 rows x 8 columns. */
const MEMO_BYTES = 32 * 1024 * 1024;

/** A stored body as read from the tools DB. */
interface PackedBody {
  encoding: ResultEncoding;
  body: Buffer;
}

export class ResultStore {
  private readonly memo = new RowsMemo(MEMO_BYTES);

  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditLog,
    readonly options: ResultStoreOptions,
  ) {}

  async put(result: ResultToStore): Promise<PutOutcome> {
    if (result.cacheKey !== null && result.query === null) throw new Error('a cache key needs a saved query');
    const body = await compress(result.rowsJson);
    if (body.length > this.options.maxEntryBytes) return { stored: false, reason: 'entry_too_large', byteSize: body.length };
    const evicted = await this.db.transaction().execute(async (trx) => {
      await lockForEviction(trx);
      await insertResult(trx, {
        runId: result.runId,
        ownerId: result.ownerId,
        queryId: result.query?.id ?? null,
        queryVersion: result.query?.version ?? null,
        dataSource: result.dataSource,
        cacheKey: result.cacheKey,
        tier: result.tier,
        columns: result.columns,
        rowCount: result.rowCount,
        truncated: result.truncated,
        encoding: ENCODING,
        body,
        byteSize: body.length,
        ttlSeconds: Math.max(1, Math.round(result.ttlSeconds)),
      });
      return evictBeyond(trx, this.options.maxTotalBytes);
    });
    // Only what may answer another run is worth memory: readRun (a background run's owner) reads the DB.
    if (result.cacheKey !== null) this.memo.set(result.runId, result.rowsJson);
    return { stored: true, byteSize: body.length, evicted };
  }

  async readCached(read: {
    query: AuthorisedQuery;
    cacheKey: string;
    maxAgeSeconds: number;
    audit: ReadAudit;
  }): Promise<StoredResult | undefined> {
    if (read.maxAgeSeconds <= 0) return undefined;
    const row = await findNewestByKey(this.db, read.cacheKey, read.maxAgeSeconds);
    // A key is a hash: the entry must also be of the very query version and source that was authorised.
    if (
      !row ||
      row.queryId !== read.query.id ||
      row.queryVersion !== read.query.version ||
      row.dataSource !== read.query.dataSource
    )
      return undefined;
    // The rows from this task's memory, or else the body read now: either way held before the read is audited.
    const rows = this.memo.get(row.runId);
    if (rows) return this.deliver(row, rows, read.audit);
    const body = await findBody(this.db, row.runId);
    if (!body) return undefined; // evicted or expired a moment ago
    const found = await this.deliver(row, { encoding: row.encoding, body }, read.audit);
    this.memo.set(row.runId, found.rowsJson);
    return found;
  }

  async readRun(read: {
    reader: Reader;
    runId: string;
    query: AuthorisedQuery | null;
    audit: ReadAudit;
  }): Promise<StoredResult | undefined> {
    const row = await findByRunId(this.db, read.runId);
    if (!row) return undefined;
    if (row.ownerId !== read.reader.id && !read.reader.admin) return undefined;
    if (row.queryId === null ? read.query !== null : read.query?.id !== row.queryId) return undefined;
    return this.deliver(row, row, read.audit);
  }

  /** With a purged query: its results go too (the foreign key's cascade is the second layer). */
  deleteForQuery(queryId: string): Promise<number> {
    return deleteByQueryId(this.db, queryId);
  }

  deleteExpired(): Promise<number> {
    return deleteExpired(this.db);
  }

  totalBytes(): Promise<number> {
    return totalBytes(this.db);
  }

  /**
   * Records the read, then returns the rows: only once the audit row is committed, and not at all if it
   * fails. A packed body is unpacked (on libuv's pool) while the audit row is written.
   */
  private async deliver(row: ResultMetaRow, found: Buffer | PackedBody, audit: ReadAudit): Promise<StoredResult> {
    const meta = metaOf(row);
    const unpacking = Buffer.isBuffer(found) ? found : decompressors[found.encoding](found.body);
    const [, rows] = await Promise.all([this.audit.record(audit(meta)), unpacking]);
    return { ...meta, columns: row.columns as StoredColumn[], rowsJson: rows };
  }
}

function metaOf(row: ResultMetaRow): ResultMeta {
  return {
    runId: row.runId,
    ownerId: row.ownerId,
    queryId: row.queryId,
    queryVersion: row.queryVersion,
    dataSource: row.dataSource,
    cacheKey: row.cacheKey,
    tier: row.tier,
    rowCount: row.rowCount,
    truncated: row.truncated,
    byteSize: row.byteSize,
    computedAt: row.computedAt,
    expiresAt: row.expiresAt,
  };
}
