// Results may be stored with zstd: it unpacks a cached result about twice as fast as gzip at the same size
// (a cache hit's largest cost after the read), and packs it about four times as fast. Older gzip rows
// stay readable until they expire.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table results drop constraint results_encoding_check`.execute(db);
  await sql`alter table results add constraint results_encoding_check check (encoding in ('gzip', 'zstd'))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Results are a cache and short-lived stored results: the zstd ones are dropped rather than re-packed.
  await sql`delete from results where encoding = 'zstd'`.execute(db);
  await sql`alter table results drop constraint results_encoding_check`.execute(db);
  await sql`alter table results add constraint results_encoding_check check (encoding in ('gzip'))`.execute(db);
}
