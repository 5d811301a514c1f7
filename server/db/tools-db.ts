// Connections to Porthole's own database: a Kysely instance over a bounded pg pool.
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../../schema/database.js';

export interface ToolsDb {
  db: Kysely<Database>;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function connectToolsDb(url: string, options: { max?: number; applicationName?: string } = {}): ToolsDb {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'porthole',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its server (restart, failover) emits here; without a listener it would crash
  // the process. The pool drops the client and the next checkout opens a new one.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool, close: () => db.destroy() };
}

/** The user name in a postgres URL, e.g. the serving role that migrations grant to. */
export function urlUser(url: string): string {
  const user = decodeURIComponent(new URL(url).username);
  if (!user) throw new Error('The database URL names no user');
  return user;
}
