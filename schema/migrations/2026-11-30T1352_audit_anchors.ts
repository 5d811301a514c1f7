// Anchors of the audit chain's head written by the scheduler every hour (issue "production hardening"
// item 4). Where no S3 Object Lock bucket is configured they are kept here, append-only like the log; with
// a bucket this table records where each one went, so an admin sees that anchoring keeps up.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table audit_anchors (
      id bigint generated always as identity primary key,
      seq bigint not null,
      hash bytea not null,
      destination text not null,
      anchored_at timestamptz not null default now()
    )`.execute(db);
  await sql`create trigger audit_anchors_no_update_delete before update or delete on audit_anchors
    for each row execute function audit_events_reject_change()`.execute(db);
  await sql`create trigger audit_anchors_no_truncate before truncate on audit_anchors
    for each statement execute function audit_events_reject_change()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table audit_anchors`.execute(db);
}
