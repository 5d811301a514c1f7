// The audit log's integrity on a schedule, so it no longer depends on someone asking: a full verification
// of the chain every day and an anchor of its head every hour, each run once across tasks by the one
// scheduler. A broken chain is recorded as `system.audit_broken` (what the admins' banner and the
// porthole_audit_chain_ok metric read) and logged as "audit chain broken", which the stack's CloudWatch
// metric filter turns into an alarm.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import { currentAnchor } from './anchor.js';
import { parseS3Location, S3AnchorStore, ToolsDbAnchorStore, type AnchorStore } from './anchor-store.js';
import type { AuditLog, VerifyResult } from './service.js';

export const AUDIT_VERIFY_CRON = '17 3 * * *';
export const AUDIT_ANCHOR_CRON = '7 * * * *';

/** AUDIT_ANCHOR_BUCKET (through the VPC's S3 gateway endpoint) when set, otherwise the tools DB. */
export function anchorStoreFor(db: Kysely<Database>, bucket: string | undefined): AnchorStore {
  return bucket ? new S3AnchorStore(parseS3Location(bucket), db) : new ToolsDbAnchorStore(db);
}

/** One full verification; a failure is recorded and logged for the alarm, the banner and the metric. */
export async function verifyOnSchedule(audit: AuditLog, log: FastifyBaseLogger): Promise<VerifyResult> {
  const result = await audit.verify({ full: true });
  if (result.ok) {
    log.info({ auditChainOk: 1, events: result.events, headSeq: result.headSeq }, 'audit chain verified');
    return result;
  }
  await audit.record({
    action: 'system.audit_broken',
    outcome: 'error',
    details: { firstBadSeq: result.firstBadSeq, problem: result.problem },
  });
  log.error({ auditChainOk: 0, firstBadSeq: result.firstBadSeq, problem: result.problem }, 'audit chain broken');
  return result;
}

export function scheduleAuditIntegrity(app: FastifyInstance, store: AnchorStore): void {
  app.scheduler.defineRecurring({
    name: 'audit.verify',
    cron: AUDIT_VERIFY_CRON,
    expireInSeconds: 6 * 3600, // a full pass over millions of events takes minutes
    run: async () => {
      await verifyOnSchedule(app.audit, app.log);
    },
  });
  app.scheduler.defineRecurring({
    name: 'audit.anchor',
    cron: AUDIT_ANCHOR_CRON,
    run: async () => {
      const destination = await store.write(await currentAnchor(app.toolsDb));
      app.log.info({ destination }, 'audit anchor written');
    },
  });
}
