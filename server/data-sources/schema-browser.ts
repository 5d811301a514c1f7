// The schema browser's data: schemas, tables, views and their columns as the source's reader role sees
// them (only relations it may SELECT from), read from the catalogs in a read-only transaction.
import type pg from 'pg';

export interface SchemaColumn {
  name: string;
  type: string;
  nullable: boolean;
}

export interface SchemaRelation {
  name: string;
  kind: 'table' | 'view' | 'materialized_view' | 'foreign_table';
  columns: SchemaColumn[];
}

export interface SchemaNamespace {
  name: string;
  relations: SchemaRelation[];
}

export interface SourceSchema {
  schemas: SchemaNamespace[];
  /** When the catalogs were read (the result is cached). */
  readAt: string;
  /** More relations exist than are listed. */
  truncated: boolean;
}

export const MAX_SCHEMA_RELATIONS = 5_000;

const KINDS: Record<string, SchemaRelation['kind']> = {
  r: 'table',
  p: 'table',
  v: 'view',
  m: 'materialized_view',
  f: 'foreign_table',
};

// Partitions are left out (their parent is what people query); columns come in table order.
const SCHEMA_SQL = `
with visible as (
  select c.oid, n.nspname, c.relname, c.relkind
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'f') and not c.relispartition
    and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'
    and has_schema_privilege(n.oid, 'USAGE') and has_any_column_privilege(c.oid, 'SELECT')
  order by n.nspname, c.relname
  limit $1
)
select v.nspname as schema, v.relname as relation, v.relkind as kind,
       coalesce(json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod), not a.attnotnull)
                         order by a.attnum) filter (where a.attname is not null), '[]') as columns
from visible v
left join pg_attribute a on a.attrelid = v.oid and a.attnum > 0 and not a.attisdropped
group by v.nspname, v.relname, v.relkind
order by v.nspname, v.relname`;

export async function readSourceSchema(client: pg.ClientBase, timeoutMs: number): Promise<SourceSchema> {
  await client.query('begin read only');
  try {
    await client.query(`set local statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    const { rows } = await client.query<{ schema: string; relation: string; kind: string; columns: [string, string, boolean][] }>(
      SCHEMA_SQL,
      [MAX_SCHEMA_RELATIONS + 1],
    );
    const truncated = rows.length > MAX_SCHEMA_RELATIONS;
    const schemas = new Map<string, SchemaNamespace>();
    for (const row of rows.slice(0, MAX_SCHEMA_RELATIONS)) {
      let namespace = schemas.get(row.schema);
      if (!namespace) schemas.set(row.schema, (namespace = { name: row.schema, relations: [] }));
      namespace.relations.push({
        name: row.relation,
        kind: KINDS[row.kind] ?? 'table',
        columns: row.columns.map(([name, type, nullable]) => ({ name, type, nullable })),
      });
    }
    return { schemas: [...schemas.values()], readAt: new Date().toISOString(), truncated };
  } finally {
    await client.query('rollback');
  }
}
