// Layer 2 on its own (DESIGN.md "The engine's layers"): the runner's transaction and protocol hold even
// with the guard bypassed and a role that could write (a superuser), so no single wall is the only one.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Execution, RowCollector } from '../../server/engine/executor.js';
import { RunConnection } from '../../server/engine/run-connection.js';
import { OffsetMap } from '../../server/engine/sql-position.js';
import type { PreparedStatement } from '../../server/engine/statement.js';
import { adminQuery, createMainDatabase, type TestMainDatabase } from '../support/databases.js';

/** A statement as the runner would send it, without the guard having looked at it. */
function unguarded(text: string): PreparedStatement {
  return {
    original: text,
    bound: { text, values: [], types: [], offsets: new OffsetMap(), names: [] },
    checked: { kind: 'select', start: 0, end: text.length, calls: [] },
    tag: '/* porthole test */\n',
  };
}

describe('the runner without the guard, as a role that could write', () => {
  let main: TestMainDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    main = await createMainDatabase({ notifications: 1_000 });
    // One connection, so every run below reuses the previous run's session.
    pool = new pg.Pool({ connectionString: main.adminUrl, max: 1 });
    await pool.query('create table t (id int); insert into t values (1), (2)');
  });
  afterAll(async () => {
    await pool?.end();
    await main?.drop();
  });

  async function runUnguarded(text: string): Promise<{ rows: unknown[][] } | { code: string; message: string }> {
    const connection = await RunConnection.open(pool);
    try {
      await connection.begin(5_000);
      const collected = new RowCollector();
      await new Execution(connection, unguarded(text)).json({ maxRows: 100, maxBytes: 1e6, maxRowBytes: 1e6 }, collected);
      return { rows: JSON.parse(`[${collected.rowsJson.toString('utf8')}]`) as unknown[][] };
    } catch (error) {
      return { code: (error as pg.DatabaseError).code ?? '', message: (error as Error).message };
    } finally {
      await connection.release();
    }
  }

  const count = async () => Number((await adminQuery('select count(*) from t', [], main.database)).rows[0].count);

  it('refuses writes in the read-only transaction', async () => {
    expect(await runUnguarded('delete from t')).toMatchObject({ code: '25006' });
    expect(await runUnguarded('create table u (a int)')).toMatchObject({ code: '25006' });
    expect(await count()).toBe(2);
  });

  it('sends one statement over the extended protocol, so COMMIT; DELETE is refused by PostgreSQL', async () => {
    expect(await runUnguarded('commit; delete from t')).toMatchObject({
      code: '42601',
      message: 'cannot insert multiple commands into a prepared statement',
    });
    expect(await count()).toBe(2);
  });

  it('starts every run read-only again, whatever the previous run did to its session', async () => {
    expect(await runUnguarded('commit')).toMatchObject({ rows: [] });
    expect(
      await runUnguarded(
        "select set_config('default_transaction_read_only', 'off', false), set_config('search_path', 'nowhere', false)",
      ),
    ).toMatchObject({ rows: [['off', 'nowhere']] });
    expect(await runUnguarded('set transaction read write')).toMatchObject({ rows: [] });
    expect(await runUnguarded("select current_setting('transaction_read_only'), current_setting('search_path')")).toEqual({
      rows: [['on', '"$user", public']],
    });
    expect(await runUnguarded('delete from t')).toMatchObject({ code: '25006' });
    expect(await count()).toBe(2);
  });
});
