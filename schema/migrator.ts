// Runs the tools-DB migrations and then grants the serving role exactly what it needs.
import { sql, type Kysely } from 'kysely';
import { Migrator, NO_MIGRATIONS, type MigrationResultSet } from 'kysely/migration';
import { migrations } from './migrations/index.js';

/** Tables the serving role may read and append to, never change (DESIGN.md "Audit log"). */
const APPEND_ONLY_TABLES = new Set(['audit_events', 'audit_verifications', 'audit_anchors']);
/** Tables the serving role may only read. */
const READ_ONLY_TABLES = new Set(['audit_chain_head', 'audit_retention_checkpoints']);
/** Tables the serving role never touches. */
const OWNER_ONLY_TABLES = new Set(['kysely_migration', 'kysely_migration_lock']);

function migrator(db: Kysely<unknown>): Migrator {
  return new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrations) } });
}

function unwrap(result: MigrationResultSet): MigrationResultSet {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    const message = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${message}`, { cause: result.error });
  }
  return result;
}

export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  const result = unwrap(await migrator(db).migrateToLatest());
  return (result.results ?? []).map((r) => r.migrationName);
}

export async function migrateDown(db: Kysely<unknown>): Promise<string[]> {
  const result = unwrap(await migrator(db).migrateDown());
  return (result.results ?? []).map((r) => r.migrationName);
}

export async function migrateToEmpty(db: Kysely<unknown>): Promise<void> {
  unwrap(await migrator(db).migrateTo(NO_MIGRATIONS));
}

/**
 * Gives the serving role DML on ordinary tables, INSERT + SELECT on append-only ones and nothing on
 * the migrator's own. Run by the owner after every migration; safe to repeat.
 */
export async function grantServingRole(db: Kysely<unknown>, servingRole: string): Promise<void> {
  const role = sql.id(servingRole);
  const tables = await sql<{ name: string }>`
    select tablename as name from pg_tables where schemaname = 'public' order by tablename`.execute(db);
  await sql`grant usage on schema public to ${role}`.execute(db);
  for (const { name } of tables.rows) {
    const table = sql.id('public', name);
    await sql`revoke all on ${table} from ${role}`.execute(db);
    if (OWNER_ONLY_TABLES.has(name)) continue;
    if (APPEND_ONLY_TABLES.has(name)) await sql`grant select, insert on ${table} to ${role}`.execute(db);
    else if (READ_ONLY_TABLES.has(name)) await sql`grant select on ${table} to ${role}`.execute(db);
    else await sql`grant select, insert, update, delete on ${table} to ${role}`.execute(db);
  }
  await sql`grant usage on all sequences in schema public to ${role}`.execute(db);
}
