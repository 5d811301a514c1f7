// Audit retention: events older than the cutoff are exported to a JSON Lines file (with the chain
// checkpoints around them, so the file verifies on its own), checked, and removed in one owner
// transaction that records where the chain now starts. Run with the owner's credentials only.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import { chainHash, GENESIS_HASH, type ChainRow } from './chain.js';
import { latestRetentionCheckpoint, readChainBatch } from './repository.js';

export interface RetentionResult {
  removed: number;
  file?: string;
  fromSeq?: string;
  throughSeq?: string;
}

/** The file's first line; the last line is an ExportTrailer. Events in between, one per line. */
interface ExportHeader {
  type: 'porthole-audit-export';
  startsAfter: { seq: string; hash: string };
  cutoff: string;
  exportedAt: string;
}

interface ExportTrailer {
  type: 'porthole-audit-export-end';
  endsAt: { seq: string; hash: string };
  events: number;
}

type ExportedEvent = Omit<ChainRow, 'prev_hash' | 'hash'> & { prev_hash: string; hash: string };

const BATCH = 5000;

/** The last seq older than the cutoff: retention removes a prefix of the chain, never a hole. */
async function lastExpiredSeq(db: Kysely<Database>, cutoff: Date): Promise<string | undefined> {
  const row = await db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('occurred_at', '<', cutoff)
    .executeTakeFirst();
  return row?.seq ?? undefined;
}

export async function applyRetention(
  ownerDb: Kysely<Database>,
  options: { cutoff: Date; outDir: string },
): Promise<RetentionResult> {
  const throughSeq = await lastExpiredSeq(ownerDb, options.cutoff);
  const start = (await latestRetentionCheckpoint(ownerDb)) ?? { seq: '0', hash: GENESIS_HASH };
  if (throughSeq === undefined || BigInt(throughSeq) <= BigInt(start.seq)) return { removed: 0 };

  const file = path.resolve(options.outDir, `porthole-audit-${BigInt(start.seq) + 1n}-${throughSeq}.jsonl`);
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  const write = async (value: unknown) => {
    if (!out.write(`${JSON.stringify(value)}\n`)) await once(out, 'drain');
  };
  const header: ExportHeader = {
    type: 'porthole-audit-export',
    startsAfter: { seq: start.seq, hash: start.hash.toString('hex') },
    cutoff: options.cutoff.toISOString(),
    exportedAt: new Date().toISOString(),
  };
  await write(header);
  let prevHash: Buffer = start.hash;
  let afterSeq = start.seq;
  let expected = BigInt(start.seq) + 1n;
  let exported = 0;
  // Events are immutable, so reading them before taking any lock is safe; each is checked as it goes.
  for (;;) {
    const rows = await readChainBatch(ownerDb, afterSeq, BATCH, throughSeq);
    for (const row of rows) {
      if (BigInt(row.seq) !== expected || !row.prev_hash.equals(prevHash) || !chainHash(prevHash, row).equals(row.hash)) {
        out.destroy();
        await rm(file, { force: true });
        throw new Error(`refusing to remove events: the chain does not verify at seq ${row.seq}; run npm run audit:verify`);
      }
      prevHash = row.hash;
      afterSeq = row.seq;
      expected++;
      exported++;
      await write({ ...row, prev_hash: row.prev_hash.toString('hex'), hash: row.hash.toString('hex') } satisfies ExportedEvent);
    }
    if (rows.length < BATCH) break;
  }
  const trailer: ExportTrailer = {
    type: 'porthole-audit-export-end',
    endsAt: { seq: afterSeq, hash: prevHash.toString('hex') },
    events: exported,
  };
  await write(trailer);
  out.end();
  await finished(out);

  await ownerDb.transaction().execute(async (trx) => {
    // DISABLE TRIGGER takes an exclusive lock until commit, so no other session ever sees it off.
    await sql`alter table audit_events disable trigger audit_events_no_update_delete`.execute(trx);
    await trx.deleteFrom('audit_events').where('seq', '<=', afterSeq).where('seq', '>', start.seq).execute();
    await sql`alter table audit_events enable trigger audit_events_no_update_delete`.execute(trx);
    await trx
      .insertInto('audit_retention_checkpoints')
      .values({
        seq: afterSeq,
        hash: prevHash,
        events_removed: String(exported),
        export_file: path.basename(file),
        cutoff: options.cutoff,
      })
      .execute();
  });
  return { removed: exported, file, fromSeq: String(BigInt(start.seq) + 1n), throughSeq: afterSeq };
}

/** Verifies an export file on its own: every hash, no gaps, and its end checkpoint. */
export async function verifyExportFile(file: string): Promise<{ ok: boolean; events: number; problem?: string }> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  const header = JSON.parse(lines[0] ?? '{}') as Partial<ExportHeader>;
  const trailer = JSON.parse(lines.at(-1) ?? '{}') as Partial<ExportTrailer>;
  if (
    header.type !== 'porthole-audit-export' ||
    !header.startsAfter ||
    trailer.type !== 'porthole-audit-export-end' ||
    !trailer.endsAt
  ) {
    return { ok: false, events: 0, problem: 'not a complete Porthole audit export (header or end line missing)' };
  }
  let prevHash: Buffer = Buffer.from(header.startsAfter.hash, 'hex');
  let expected = BigInt(header.startsAfter.seq) + 1n;
  let events = 0;
  for (const line of lines.slice(1, -1)) {
    const event = JSON.parse(line) as ExportedEvent;
    const row: ChainRow = { ...event, prev_hash: Buffer.from(event.prev_hash, 'hex'), hash: Buffer.from(event.hash, 'hex') };
    if (BigInt(row.seq) !== expected) return { ok: false, events, problem: `event ${expected} is missing` };
    if (!row.prev_hash.equals(prevHash) || !chainHash(prevHash, row).equals(row.hash))
      return { ok: false, events, problem: `event ${row.seq} does not verify` };
    prevHash = row.hash;
    expected++;
    events++;
  }
  if (String(expected - 1n) !== trailer.endsAt.seq || prevHash.toString('hex') !== trailer.endsAt.hash) {
    return { ok: false, events, problem: 'the file does not end at its checkpoint' };
  }
  return { ok: true, events };
}
