// Kysely access to the audit tables. seq, prev_hash, hash and occurred_at are set by the chain trigger.
import { sql, type Kysely } from 'kysely';
import type { Database, NewAuditEvent } from '../../schema/database.js';
import { CHAIN_COLUMNS_SQL, type ChainRow } from './chain.js';

export async function insertAuditEvent(db: Kysely<Database>, event: NewAuditEvent): Promise<string> {
  const row = await db.insertInto('audit_events').values(event).returning('seq').executeTakeFirstOrThrow();
  return row.seq;
}

// Qualified e.seq: a bare `seq` in ORDER BY would bind to the text alias and sort 10 before 2.
export async function readChainBatch(db: Kysely<Database>, afterSeq: string, limit: number): Promise<ChainRow[]> {
  const result = await sql<ChainRow>`
    select ${sql.raw(CHAIN_COLUMNS_SQL)} from audit_events e
    where e.seq > ${afterSeq} order by e.seq limit ${limit}`.execute(db);
  return result.rows;
}

export async function readChainHead(db: Kysely<Database>): Promise<{ seq: string; hash: Buffer }> {
  return db.selectFrom('audit_chain_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
}
