// Connections to Porthole's own database: a Kysely instance over a bounded pg pool. A query that fails
// because the database cannot be reached or is going away rejects with tools_database_unavailable (503),
// wherever it runs: a route, a hook, the run lifecycle. Other errors pass through as pg raised them.
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { Database } from '../../schema/database.js';
import { isUnavailable, survivesLostConnections, toolsDatabaseUnavailable } from './unavailable.js';

export interface ToolsDb {
  db: Kysely<Database>;
  pool: pg.Pool;
  close(): Promise<void>;
}

function rethrow(error: unknown): never {
  throw isUnavailable(error) ? toolsDatabaseUnavailable(error) : error;
}

/** The pool as Kysely uses it, with unavailability answered as tools_database_unavailable. */
function answeringUnavailable(pool: pg.Pool): PostgresPool {
  const clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    const query = ((text: unknown, values?: unknown[]) => {
      // A cursor (Kysely's stream()) is handed on as is: it reports its errors when read.
      if (typeof text !== 'string') return client.query(text as pg.Submittable);
      return client.query(text, values).catch(rethrow);
    }) as unknown as PostgresPoolClient['query'];
    return {
      query,
      release: (destroy?: boolean) => client.release(destroy),
      get processID() {
        return (client as unknown as { processID?: number }).processID;
      },
    };
  };
  return {
    options: pool.options,
    connect: async () => {
      const client = await pool.connect().catch(rethrow);
      let wrapped = clients.get(client);
      if (!wrapped) clients.set(client, (wrapped = wrap(client)));
      return wrapped;
    },
    end: () => pool.end(),
  };
}

export function connectToolsDb(url: string, options: { max?: number; applicationName?: string } = {}): ToolsDb {
  const pool = survivesLostConnections(
    new pg.Pool({
      connectionString: url,
      max: options.max ?? 10,
      application_name: options.applicationName ?? 'porthole',
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
    }),
  );
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: answeringUnavailable(pool) }) });
  return { db, pool, close: () => db.destroy() };
}

/** The user name in a postgres URL, e.g. the serving role that migrations grant to. */
export function urlUser(url: string): string {
  const user = decodeURIComponent(new URL(url).username);
  if (!user) throw new Error('The database URL names no user');
  return user;
}
