// The schema browser's data: schemas, tables, views and their columns that any of the source's tier roles
// may read (issue #13: with tiers, the catalog says which role can read which column), read from the
// catalogs in a read-only transaction. Column names are visible to every role in pg_attribute anyway.
import type pg from 'pg';

export interface SchemaColumn {
  name: string;
  type: string;
  nullable: boolean;
  /** The user's tier cannot read it: the lowest tier that can (null: none) and the groups that give it. */
  restricted?: { tier: string | null; groups: string[] };
}

export interface RawSchemaColumn extends SchemaColumn {
  /** Per role asked about (same order): may it SELECT the column? */
  readable: boolean[];
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

export interface SourceSchema<Column extends SchemaColumn = SchemaColumn> {
  schemas: Array<{ name: string; relations: Array<Omit<SchemaRelation, 'columns'> & { columns: Column[] }> }>;
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
    and exists (select from unnest($2::text[]) r(role)
                where has_schema_privilege(r.role, n.oid, 'USAGE') and has_any_column_privilege(r.role, c.oid, 'SELECT'))
  order by n.nspname, c.relname
  limit $1
)
select v.nspname as schema, v.relname as relation, v.relkind as kind,
       coalesce(json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod), not a.attnotnull,
                                          array(select has_column_privilege(r.role, a.attrelid, a.attnum, 'SELECT')
                                                from unnest($2::text[]) with ordinality r(role, i) order by i))
                         order by a.attnum) filter (where a.attname is not null), '[]') as columns
from visible v
left join pg_attribute a on a.attrelid = v.oid and a.attnum > 0 and not a.attisdropped
group by v.nspname, v.relname, v.relkind
order by v.nspname, v.relname`;

/** `roles`: the source's tier roles, lowest first (one role without tiers). */
export async function readSourceSchema(
  client: pg.ClientBase,
  timeoutMs: number,
  roles: string[],
): Promise<SourceSchema<RawSchemaColumn>> {
  await client.query('begin read only');
  try {
    await client.query(`set local statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    const { rows } = await client.query<{
      schema: string;
      relation: string;
      kind: string;
      columns: [string, string, boolean, boolean[]][];
    }>(SCHEMA_SQL, [MAX_SCHEMA_RELATIONS + 1, roles]);
    const truncated = rows.length > MAX_SCHEMA_RELATIONS;
    const schemas = new Map<
      string,
      { name: string; relations: Array<Omit<SchemaRelation, 'columns'> & { columns: RawSchemaColumn[] }> }
    >();
    for (const row of rows.slice(0, MAX_SCHEMA_RELATIONS)) {
      let namespace = schemas.get(row.schema);
      if (!namespace) schemas.set(row.schema, (namespace = { name: row.schema, relations: [] }));
      namespace.relations.push({
        name: row.relation,
        kind: KINDS[row.kind] ?? 'table',
        columns: row.columns.map(([name, type, nullable, readable]) => ({ name, type, nullable, readable })),
      });
    }
    return { schemas: [...schemas.values()], readAt: new Date().toISOString(), truncated };
  } finally {
    await client.query('rollback');
  }
}
