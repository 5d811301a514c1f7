// What a data source's own catalog says a query's call sites invoke (THREATS.md 45): the guard has judged
// the names written in the query against the classification of pg_catalog; this resolves the rest the
// way PostgreSQL would, through pg_proc, pg_operator, pg_type, pg_cast and the definitions of views, so no
// spelling, schema or search_path can hide a refused function:
//   functions   a name is refused when any function of that name, in any schema and with any arguments,
//               is refused: by the classification, as an unreviewed volatile or stable pg_catalog function
//               (a newer PostgreSQL), as an alias of a refused built-in (LANGUAGE internal with its
//               symbol), or as an SQL function whose body calls a refused one;
//   operators   refused when any operator of that name runs a refused function;
//   types       refused when any type of that name has a refused input, output or cast function;
//   relations   refused when any view of that name (its definition parsed like a query) uses anything
//               refused, directly or through other views.
// Read once per pool and kept for CATALOG_TTL_MS; the read uses the source's own role and touches only
// catalogs every role may read.
import { parseSync } from 'libpg-query';
import type pg from 'pg';
import { dataSourceUnavailable, isUnavailable } from '../db/unavailable.js';
import { AppError } from '../lib/errors.js';
import { ALLOWED_FUNCTIONS } from './function-classification.js';
import { collectCallSites, DENIED_RELATIONS, judgeCalls, staticDenial, type CallJudge, type CallSite } from './function-calls.js';
import { deniedCallError, loadSqlParser } from './guard.js';
import type { PreparedStatement } from './statement.js';

const CATALOG_TTL_MS = 10 * 60_000;

const FUNCTIONS_SQL = `
select p.oid::int8::text as oid, p.proname::text as name, n.nspname::text as schema, l.lanname::text as language,
       p.provolatile::text as volatility,
       case when l.lanname = 'internal' then p.prosrc
            when l.lanname = 'sql' and n.nspname not in ('pg_catalog', 'information_schema')
              then coalesce(pg_get_function_sqlbody(p.oid), p.prosrc) end as body
from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang`;

// Operators and types whose functions are among $1 (the refused ones), and every view's definition.
const DEPENDENTS_SQL = `
select 'operator' as kind, o.oprname::text as name, f.fn::int8::text
  from pg_operator o,
       -- the planner calls the estimators (oprrest, oprjoin) as well as the operator's function
       lateral (values (o.oprcode::oid), (o.oprrest::oid), (o.oprjoin::oid)) as f(fn)
  where f.fn = any($1::oid[])
union all
select 'type', t.typname::text, f.fn::int8::text
  from pg_type t,
       lateral (values (t.typinput::oid), (t.typoutput::oid), (t.typreceive::oid), (t.typsend::oid),
                       (t.typmodin::oid), (t.typmodout::oid), (t.typsubscript::oid)) as f(fn)
  where f.fn = any($1::oid[])
union all
select 'type', t.typname::text, c.castfunc::int8::text
  from pg_cast c join pg_type t on t.oid = c.casttarget where c.castfunc = any($1::oid[])`;

const VIEWS_SQL = `
select c.relname::text as name, pg_get_viewdef(c.oid) as definition
from pg_class c where c.relkind in ('v', 'm')`;

interface FunctionRow {
  oid: string;
  name: string;
  schema: string;
  language: string;
  volatility: string;
  body: string | null;
}

export interface SourceCatalog extends CallJudge {
  /** How many names of each kind the catalog refuses (for logs and tests). */
  readonly counts: Record<'functions' | 'operators' | 'types' | 'relations', number>;
}

class CatalogJudge implements SourceCatalog {
  constructor(
    private readonly functions: ReadonlyMap<string, string>,
    private readonly operators: ReadonlyMap<string, string>,
    private readonly types: ReadonlyMap<string, string>,
    private readonly relations: ReadonlyMap<string, string>,
  ) {}

  get counts() {
    return {
      functions: this.functions.size,
      operators: this.operators.size,
      types: this.types.size,
      relations: this.relations.size,
    };
  }

  function(name: string) {
    return this.functions.get(name) ?? staticDenial(name);
  }
  operator(name: string) {
    return this.operators.get(name);
  }
  type(name: string) {
    return this.types.get(name);
  }
  relation(name: string) {
    return this.relations.get(name) ?? DENIED_RELATIONS.get(name);
  }
}

/** Call sites of SQL text from the catalog (a view or function body); text that does not parse adds none. */
function callSitesOf(sql: string): CallSite[] {
  try {
    return collectCallSites(parseSync(sql));
  } catch {
    return [];
  }
}

/** Why this pg_proc row is refused on its own (before bodies that call refused functions are considered). */
function ownDenial(row: FunctionRow, deniedSymbols: ReadonlyMap<string, string>): string | undefined {
  const byName = staticDenial(row.name);
  if (byName) return byName;
  if (row.schema === 'pg_catalog' && row.volatility !== 'i' && !ALLOWED_FUNCTIONS.has(row.name)) {
    return 'it is a function of this PostgreSQL version that Porthole has not reviewed yet';
  }
  if (row.language === 'internal' && row.body && row.schema !== 'pg_catalog') {
    const symbol = deniedSymbols.get(row.body);
    if (symbol) return symbol;
  }
  return undefined;
}

/** Reads the catalog on one connection of the source and works out every refused name. */
export async function readSourceCatalog(client: pg.ClientBase): Promise<SourceCatalog> {
  await loadSqlParser();
  const { rows: functions } = await client.query<FunctionRow>(FUNCTIONS_SQL);

  // Built-ins by their C symbol, so `create function x() ... language internal as 'pg_cancel_backend'` is caught.
  const deniedSymbols = new Map<string, string>();
  for (const row of functions) {
    const reason = row.schema === 'pg_catalog' && row.language === 'internal' && row.body ? staticDenial(row.name) : undefined;
    if (reason) deniedSymbols.set(row.body!, reason);
  }
  const deniedByName = new Map<string, string>();
  const deniedOids = new Set<string>();
  for (const row of functions) {
    const reason = ownDenial(row, deniedSymbols);
    if (reason && !deniedByName.has(row.name)) deniedByName.set(row.name, reason);
  }
  // SQL functions calling refused ones, until nothing changes (a chain of wrappers).
  const sqlBodies = functions
    .filter((row) => row.language === 'sql' && row.body)
    .map((row) => ({ row, sites: callSitesOf(row.body!) }));
  const functionJudge: CallJudge = {
    function: (name) => deniedByName.get(name),
    operator: () => undefined,
    type: () => undefined,
    relation: () => undefined,
  };
  for (let changed = true; changed;) {
    changed = false;
    for (const { row, sites } of sqlBodies) {
      if (deniedByName.has(row.name)) continue;
      const denied = judgeCalls(sites, functionJudge);
      if (denied) {
        deniedByName.set(row.name, `it calls ${denied.site.name}(): ${denied.reason}`);
        changed = true;
      }
    }
  }
  for (const row of functions) if (deniedByName.has(row.name)) deniedOids.add(row.oid);

  const nameOf = new Map(functions.map((row) => [row.oid, row.name]));
  const operators = new Map<string, string>();
  const types = new Map<string, string>();
  const { rows: dependents } = await client.query<{ kind: string; name: string; fn: string }>(DEPENDENTS_SQL, [[...deniedOids]]);
  for (const { kind, name, fn } of dependents) {
    const target = kind === 'operator' ? operators : types;
    const fnName = nameOf.get(fn) ?? fn;
    if (!target.has(name)) target.set(name, `it runs ${fnName}(): ${deniedByName.get(fnName) ?? 'refused'}`);
  }

  // Views: parse each definition and judge it like a query, until no further view is refused.
  const { rows: views } = await client.query<{ name: string; definition: string | null }>(VIEWS_SQL);
  const relations = new Map<string, string>();
  const viewSites = views.map((view) => ({ name: view.name, sites: view.definition ? callSitesOf(view.definition) : [] }));
  const viewJudge: CallJudge = {
    function: (name) => deniedByName.get(name) ?? staticDenial(name),
    operator: (name) => operators.get(name),
    type: (name) => types.get(name),
    relation: (name) => relations.get(name) ?? DENIED_RELATIONS.get(name),
  };
  for (let changed = true; changed;) {
    changed = false;
    for (const view of viewSites) {
      if (relations.has(view.name)) continue;
      const denied = judgeCalls(view.sites, viewJudge);
      if (denied) {
        const what = denied.site.kind === 'relation' ? denied.site.name : `${denied.site.name}()`;
        relations.set(view.name, `it uses ${what}, and ${denied.reason}`);
        changed = true;
      }
    }
  }
  return new CatalogJudge(deniedByName, operators, types, relations);
}

const cache = new WeakMap<pg.Pool, { at: number; catalog: Promise<SourceCatalog> }>();

/** The catalog judge of a source's pool, read at most once per CATALOG_TTL_MS (a failed read is retried). */
export function sourceCatalog(pool: pg.Pool, sourceId: string): Promise<SourceCatalog> {
  const cached = cache.get(pool);
  if (cached && Date.now() - cached.at < CATALOG_TTL_MS) return cached.catalog;
  const entry = { at: Date.now(), catalog: readWithPool(pool, sourceId) };
  cache.set(pool, entry);
  entry.catalog.catch(() => cache.get(pool) === entry && cache.delete(pool));
  return entry.catalog;
}

async function readWithPool(pool: pg.Pool, sourceId: string): Promise<SourceCatalog> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw dataSourceUnavailable(sourceId, error);
  }
  let failed: Error | undefined;
  try {
    await client.query('begin read only');
    return await readSourceCatalog(client);
  } catch (error) {
    failed = error instanceof Error ? error : new Error(String(error));
    if (isUnavailable(failed)) throw dataSourceUnavailable(sourceId, failed);
    throw new AppError(502, 'data_source_error', `Reading the catalog of "${sourceId}" failed: ${failed.message}`);
  } finally {
    if (!failed) await client.query('rollback').catch((error: Error) => (failed = error));
    client.release(failed);
  }
}

/** Judges a prepared statement's call sites against its source's catalog; throws the guard's 400 on a refusal. */
export async function checkCallsOnSource(prepared: PreparedStatement, pool: pg.Pool, sourceId: string): Promise<void> {
  const denied = judgeCalls(prepared.checked.calls, await sourceCatalog(pool, sourceId));
  if (denied) throw deniedCallError(denied, prepared.bound.text, prepared.original, prepared.bound.offsets);
}
