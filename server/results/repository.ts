// The results table: Kysely only, `db` (or a transaction) first. Rules (access, caps, audit) live in store.ts.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';

/** How a result's body is compressed: zstd for new rows; gzip rows (written before) stay readable. */
export type ResultEncoding = 'gzip' | 'zstd';

export interface ResultRow {
  runId: string;
  ownerId: string;
  queryId: string | null;
  queryVersion: number | null;
  dataSource: string;
  cacheKey: string | null;
  tier: string | null;
  columns: unknown;
  rowCount: number;
  truncated: boolean;
  encoding: ResultEncoding;
  body: Buffer;
  byteSize: number;
  computedAt: Date;
  expiresAt: Date;
}

export type NewResultRow = Omit<ResultRow, 'computedAt' | 'expiresAt'> & { ttlSeconds: number };

/** A row without its body (what decides whether it may answer a run). */
export type ResultMetaRow = Omit<ResultRow, 'body'>;

const COLUMNS = [
  'run_id',
  'owner_id',
  'query_id',
  'query_version',
  'data_source',
  'cache_key',
  'tier',
  'columns',
  'row_count',
  'truncated',
  'encoding',
  'body',
  'byte_size',
  'computed_at',
  'expires_at',
] as const;

type Selected = {
  run_id: string;
  owner_id: string;
  query_id: string | null;
  query_version: number | null;
  data_source: string;
  cache_key: string | null;
  tier: string | null;
  columns: unknown;
  row_count: number;
  truncated: boolean;
  encoding: ResultEncoding;
  body: Buffer;
  byte_size: number;
  computed_at: Date;
  expires_at: Date;
};

function toRow(row: Selected): ResultRow {
  return {
    runId: row.run_id,
    ownerId: row.owner_id,
    queryId: row.query_id,
    queryVersion: row.query_version,
    dataSource: row.data_source,
    cacheKey: row.cache_key,
    tier: row.tier,
    columns: row.columns,
    rowCount: row.row_count,
    truncated: row.truncated,
    encoding: row.encoding,
    body: row.body,
    byteSize: row.byte_size,
    computedAt: row.computed_at,
    expiresAt: row.expires_at,
  };
}

export async function insertResult(db: Kysely<Database>, row: NewResultRow): Promise<void> {
  await db
    .insertInto('results')
    .values({
      run_id: row.runId,
      owner_id: row.ownerId,
      query_id: row.queryId,
      query_version: row.queryVersion,
      data_source: row.dataSource,
      cache_key: row.cacheKey,
      tier: row.tier,
      columns: JSON.stringify(row.columns),
      row_count: row.rowCount,
      truncated: row.truncated,
      encoding: row.encoding,
      body: row.body,
      byte_size: row.byteSize,
      expires_at: sql<Date>`now() + make_interval(secs => ${row.ttlSeconds})`,
    })
    .execute();
}

export async function findByRunId(db: Kysely<Database>, runId: string): Promise<ResultRow | undefined> {
  const row = await db
    .selectFrom('results')
    .select(COLUMNS)
    .where('run_id', '=', runId)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return row ? toRow(row as Selected) : undefined;
}

/** The newest unexpired entry under this key computed at most maxAgeSeconds ago, without its body. */
export async function findNewestByKey(
  db: Kysely<Database>,
  cacheKey: string,
  maxAgeSeconds: number,
): Promise<ResultMetaRow | undefined> {
  const row = await db
    .selectFrom('results')
    .select(COLUMNS.filter((column) => column !== 'body'))
    .where('cache_key', '=', cacheKey)
    .where('computed_at', '>=', sql<Date>`now() - make_interval(secs => ${maxAgeSeconds})`)
    .where('expires_at', '>', sql<Date>`now()`)
    .orderBy('computed_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  const { body: _body, ...meta } = toRow(row as Selected);
  return meta;
}

/** An unexpired entry's body. */
export async function findBody(db: Kysely<Database>, runId: string): Promise<Buffer | undefined> {
  const row = await db
    .selectFrom('results')
    .select('body')
    .where('run_id', '=', runId)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return row?.body;
}

/** Deletes the oldest entries until the rest fit in maxTotalBytes; returns how many went. */
export async function evictBeyond(db: Kysely<Database>, maxTotalBytes: number): Promise<number> {
  const result = await sql`
    delete from results where run_id in (
      select run_id from (
        select run_id, sum(byte_size) over (order by computed_at desc, run_id desc) as kept_bytes from results
      ) newest_first
      where kept_bytes > ${maxTotalBytes}
    )`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export async function deleteByQueryId(db: Kysely<Database>, queryId: string): Promise<number> {
  const result = await db.deleteFrom('results').where('query_id', '=', queryId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function deleteExpired(db: Kysely<Database>): Promise<number> {
  const result = await db
    .deleteFrom('results')
    .where('expires_at', '<=', sql<Date>`now()`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function totalBytes(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('results')
    .select(sql<string>`coalesce(sum(byte_size), 0)`.as('bytes'))
    .executeTakeFirstOrThrow();
  return Number(row.bytes);
}

/** Serialises writers that evict, so two of them never both see room that only one of them has. */
export async function lockForEviction(db: Kysely<Database>): Promise<void> {
  await sql`select pg_advisory_xact_lock(${EVICTION_LOCK})`.execute(db);
}

/** An advisory-lock key of this table's own (two int4 keys: "porthole", "results"). */
const EVICTION_LOCK = sql`hashtext('porthole.results.eviction')::bigint`;
