// Installs and migrates pg-boss's schema as the tools DB's owner role, and grants the serving role only
// what running jobs needs: DML on pg-boss's tables, its sequences and functions, never DDL. The serving
// role's PgBoss runs with migrate:false, so a new pg-boss version is migrated here, by the owner, at
// the same step as Porthole's own migrations.
import { sql, type Kysely } from 'kysely';
import { PgBoss } from 'pg-boss';
import { SCHEDULER_SCHEMA } from './scheduler.js';

export async function installScheduler(ownerUrl: string): Promise<void> {
  const boss = new PgBoss({
    connectionString: ownerUrl,
    schema: SCHEDULER_SCHEMA,
    application_name: 'porthole-migrate',
    max: 2,
    migrate: true,
    schedule: false,
    supervise: false,
    registerInstance: false,
    persistWarnings: false,
  });
  let failure: unknown;
  boss.on('error', (error) => (failure ??= error));
  await boss.start();
  await boss.stop({ graceful: false });
  if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
}

export async function grantSchedulerToServingRole(db: Kysely<unknown>, servingRole: string): Promise<void> {
  const role = sql.id(servingRole);
  const schema = sql.id(SCHEDULER_SCHEMA);
  await sql`revoke all on schema ${schema} from public`.execute(db);
  await sql`grant usage on schema ${schema} to ${role}`.execute(db);
  await sql`revoke all on all tables in schema ${schema} from ${role}`.execute(db);
  await sql`grant select, insert, update, delete on all tables in schema ${schema} to ${role}`.execute(db);
  await sql`grant usage, select on all sequences in schema ${schema} to ${role}`.execute(db);
  await sql`grant execute on all functions in schema ${schema} to ${role}`.execute(db);
}
