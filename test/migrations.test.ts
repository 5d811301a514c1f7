import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToolsDb, type ToolsDb } from '../server/db/tools-db.js';
import { migrateDown, migrateToEmpty, migrateToLatest } from '../schema/migrator.js';
import { migrations } from '../schema/migrations/index.js';
import { createToolsDatabase, type TestToolsDatabase } from './support/databases.js';

async function tables(db: Kysely<unknown>): Promise<string[]> {
  const result = await sql<{
    name: string;
  }>`select tablename as name from pg_tables where schemaname = 'public' order by 1`.execute(db);
  return result.rows.map((r) => r.name).filter((name) => !name.startsWith('kysely_'));
}

describe('tools-DB migrations', () => {
  let tools: TestToolsDatabase;
  let owner: ToolsDb;
  beforeAll(async () => {
    tools = await createToolsDatabase({ migrate: false });
    owner = connectToolsDb(tools.ownerUrl, { max: 1 });
  });
  afterAll(async () => {
    await owner.close();
    await tools.drop();
  });

  it('have timestamped names in order', () => {
    const names = Object.keys(migrations);
    expect(names.every((n) => /^\d{4}-\d{2}-\d{2}T\d{4}_[a-z0-9_]+$/.test(n))).toBe(true);
    expect([...names].sort()).toEqual(names);
  });

  it('go up from empty, down to empty, and up again', async () => {
    const db = owner.db as unknown as Kysely<unknown>;
    expect(await tables(db)).toEqual([]);
    expect(await migrateToLatest(db)).toEqual(Object.keys(migrations));
    const latest = await tables(db);
    expect(latest).toEqual(expect.arrayContaining(['audit_chain_head', 'audit_events', 'sessions', 'users']));
    expect(await migrateToLatest(db)).toEqual([]);

    await migrateDown(db);
    await migrateToEmpty(db);
    expect(await tables(db)).toEqual([]);

    await migrateToLatest(db);
    expect(await tables(db)).toEqual(latest);
  });
});
