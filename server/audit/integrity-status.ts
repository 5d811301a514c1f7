// Is the audit chain known to be broken? The scheduled verification records `system.audit_broken`; the
// chain counts as broken until a later full verification succeeds. Read by the admins' banner
// (GET /api/audit/integrity) and the porthole_audit_chain_ok metric, the same on every task.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';

export interface IntegrityStatus {
  ok: boolean;
  broken?: { firstBadSeq: string | null; problem: string | null; detectedAt: string };
}

export async function integrityStatus(db: Kysely<Database>): Promise<IntegrityStatus> {
  const { rows } = await sql<{
    occurred_at: Date;
    first_bad_seq: string | null;
    problem: string | null;
    verified_after: boolean;
  }>`
    select b.occurred_at, b.details->>'firstBadSeq' as first_bad_seq, b.details->>'problem' as problem,
      exists (select 1 from audit_verifications v where v.full_check and v.verified_at > b.occurred_at) as verified_after
    from audit_events b where b.action = 'system.audit_broken' order by b.seq desc limit 1`.execute(db);
  const latest = rows[0];
  if (!latest || latest.verified_after) return { ok: true };
  return {
    ok: false,
    broken: { firstBadSeq: latest.first_bad_seq, problem: latest.problem, detectedAt: latest.occurred_at.toISOString() },
  };
}
