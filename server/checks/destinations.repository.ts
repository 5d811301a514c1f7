// Alert destinations in the tools DB: Kysely only.
import type { Kysely, Selectable } from 'kysely';
import type { AlertDestinationsTable, Database } from '../../schema/database.js';

export type DestinationRow = Selectable<AlertDestinationsTable>;

export function listDestinations(db: Kysely<Database>): Promise<DestinationRow[]> {
  return db.selectFrom('alert_destinations').selectAll().orderBy('name').execute();
}

export function findDestination(db: Kysely<Database>, id: string): Promise<DestinationRow | undefined> {
  return db.selectFrom('alert_destinations').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findDestinations(db: Kysely<Database>, ids: string[]): Promise<DestinationRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('alert_destinations').selectAll().where('id', 'in', ids).execute();
}

export async function insertDestination(
  db: Kysely<Database>,
  row: { kind: 'slack' | 'webhook'; name: string; url: string; secret: string | null; createdBy: string },
): Promise<DestinationRow> {
  return db
    .insertInto('alert_destinations')
    .values({ kind: row.kind, name: row.name, url: row.url, secret: row.secret, created_by: row.createdBy })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateDestination(
  db: Kysely<Database>,
  id: string,
  fields: { name?: string; url?: string; secret?: string | null },
): Promise<DestinationRow | undefined> {
  return db
    .updateTable('alert_destinations')
    .set({ ...fields, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteDestination(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('alert_destinations').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
