// External anchors: the chain's head written to write-once storage (an S3 Object Lock bucket), so even
// someone able to rewrite the whole chain consistently is caught when it is compared with the anchors.
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import { latestRetentionCheckpoint, readChainHead, readEventHash } from './repository.js';

export interface Anchor {
  seq: string;
  /** Hex sha256 of the event at seq. */
  hash: string;
  anchoredAt: string;
}

export async function currentAnchor(db: Kysely<Database>): Promise<Anchor> {
  const head = await readChainHead(db);
  return { seq: head.seq, hash: head.hash.toString('hex'), anchoredAt: new Date().toISOString() };
}

/** Reads JSON Lines of anchors, ignoring blank lines; names the line of anything malformed. */
export function parseAnchors(text: string): Anchor[] {
  return text
    .split('\n')
    .map((line, index) => ({ line: line.trim(), number: index + 1 }))
    .filter(({ line }) => line !== '')
    .map(({ line, number }) => {
      let value: Partial<Anchor>;
      try {
        value = JSON.parse(line) as Partial<Anchor>;
      } catch {
        throw new Error(`anchor file line ${number} is not JSON`);
      }
      if (
        typeof value.seq !== 'string' ||
        !/^\d+$/.test(value.seq) ||
        typeof value.hash !== 'string' ||
        !/^[0-9a-f]{64}$/.test(value.hash)
      ) {
        throw new Error(`anchor file line ${number} needs "seq" (digits) and "hash" (64 hex characters)`);
      }
      return { seq: value.seq, hash: value.hash, anchoredAt: String(value.anchoredAt ?? '') };
    });
}

export interface AnchorCheck {
  ok: boolean;
  checked: number;
  /** Anchors older than the retention checkpoint: their events were exported and removed. */
  skipped: number;
  problem?: string;
}

/** Every anchor must still match the event it names; a chain shorter than an anchor was truncated. */
export async function compareWithAnchors(db: Kysely<Database>, anchors: Anchor[]): Promise<AnchorCheck> {
  const head = await readChainHead(db);
  const retention = await latestRetentionCheckpoint(db);
  let checked = 0;
  let skipped = 0;
  for (const anchor of anchors) {
    if (anchor.seq === '0') {
      skipped++;
      continue;
    }
    if (BigInt(anchor.seq) > BigInt(head.seq)) {
      return {
        ok: false,
        checked,
        skipped,
        problem: `an anchor names event ${anchor.seq} but the log ends at ${head.seq}: it was truncated or rewritten`,
      };
    }
    if (retention && BigInt(anchor.seq) <= BigInt(retention.seq)) {
      if (anchor.seq === retention.seq && retention.hash.toString('hex') !== anchor.hash) {
        return { ok: false, checked, skipped, problem: `the retention checkpoint at ${anchor.seq} does not match its anchor` };
      }
      skipped++;
      continue;
    }
    const stored = await readEventHash(db, anchor.seq);
    if (!stored || stored.toString('hex') !== anchor.hash) {
      return {
        ok: false,
        checked,
        skipped,
        problem: `event ${anchor.seq} does not match the anchor taken at ${anchor.anchoredAt || 'an earlier time'}: the chain was rewritten`,
      };
    }
    checked++;
  }
  return { ok: true, checked, skipped };
}
