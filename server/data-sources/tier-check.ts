// The self-check's part for access tiers (issue #13), connected as one tier's role: can it read the
// source's sensitive columns, directly or through a view (a view reads with its owner's rights)? A tier
// that should not and can is warned about; so is a tier that should and cannot, and a listed column that
// does not exist. The grants themselves come from schema/reader-role.sql (withheld_columns).
import type pg from 'pg';
import { columnLabel, type ColumnRef } from './tiers.js';

// Views found by the same walk as reader-role.sql's: rules depending on a listed column, then on those views.
const TIER_CHECK_SQL = `
with recursive listed as (
  select l.s, l.t, l.c, to_regclass(format('%I.%I', l.s, l.t)) as rel
  from unnest($1::text[], $2::text[], $3::text[]) as l(s, t, c)
),
columns as (
  select l.s, l.t, l.c, l.rel, a.attnum
  from listed l left join pg_attribute a on a.attrelid = l.rel and a.attname = l.c and a.attnum > 0 and not a.attisdropped
),
tainted(relid) as (
  select distinct r.ev_class
  from pg_depend d join pg_rewrite r on r.oid = d.objid join columns w on w.rel = d.refobjid and w.attnum = d.refobjsubid
  where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass and r.ev_class <> d.refobjid
  union
  select r.ev_class
  from pg_depend d join pg_rewrite r on r.oid = d.objid join tainted t on t.relid = d.refobjid
  where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass and r.ev_class <> d.refobjid
)
select
  coalesce((select json_agg(json_build_object('schema', s, 'table', t, 'column', c, 'present', attnum is not null,
            'readable', attnum is not null and has_column_privilege(rel, attnum, 'SELECT'))) from columns), '[]') as columns,
  array(select t.relid::regclass::text from tainted t where has_any_column_privilege(t.relid, 'SELECT') order by 1)
    as readable_views`;

export interface TierCheck {
  warnings: string[];
  /** Listed columns this role can read. */
  readable: ColumnRef[];
}

export async function checkTierColumns(
  client: pg.ClientBase,
  tier: { name: string; readsSensitive: boolean },
  role: string,
  sensitive: ColumnRef[],
): Promise<TierCheck> {
  if (sensitive.length === 0) return { warnings: [], readable: [] };
  await client.query('begin read only');
  try {
    const { rows } = await client.query<{
      columns: Array<ColumnRef & { present: boolean; readable: boolean }>;
      readable_views: string[];
    }>(TIER_CHECK_SQL, [sensitive.map((c) => c.schema), sensitive.map((c) => c.table), sensitive.map((c) => c.column)]);
    const { columns, readable_views: views } = rows[0]!;
    const who = `tier "${tier.name}" (role "${role}")`;
    const warnings: string[] = [];
    for (const column of columns) {
      const label = columnLabel(column);
      if (!column.present) warnings.push(`sensitive column ${label} does not exist (check "sensitiveColumns")`);
      else if (column.readable && !tier.readsSensitive) {
        warnings.push(
          `${who} can read sensitive column ${label}: run schema/reader-role.sql for it again with withheld_columns listing it`,
        );
      } else if (!column.readable && tier.readsSensitive)
        warnings.push(`${who} should read sensitive column ${label} but cannot`);
    }
    if (!tier.readsSensitive && views.length) {
      warnings.push(
        `${who} can read ${views.join(', ')}, which read${views.length === 1 ? 's' : ''} a sensitive column: run schema/reader-role.sql for it again`,
      );
    }
    return { warnings, readable: columns.filter((c) => c.present && c.readable) };
  } finally {
    await client.query('rollback');
  }
}
