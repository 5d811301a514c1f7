// A data source's schema as GET /api/data-sources/:id/schema answers it (issue #4), and what the editor
// and the schema panel make of it.
import type { SQLNamespace } from '@codemirror/lang-sql';

export interface SchemaColumn {
  name: string;
  type: string;
  nullable: boolean;
  /** Your access tier cannot read it (issue #13): the lowest tier that can, and the groups it needs. */
  restricted?: { tier: string | null; groups: string[] };
}

/** "restricted: needs group support", shown beside a column your tier cannot read. */
export function restrictedLabel(restricted: NonNullable<SchemaColumn['restricted']>): string {
  if (restricted.tier === null || restricted.groups.length === 0) return 'restricted: no access tier reads it';
  return `restricted: needs ${restricted.groups.length > 1 ? 'groups' : 'group'} ${restricted.groups.join(' or ')}`;
}

export interface SchemaRelation {
  name: string;
  kind: string;
  columns: SchemaColumn[];
}

export interface SourceSchema {
  schemas: Array<{ name: string; relations: SchemaRelation[] }>;
  readAt: string;
  truncated: boolean;
}

const PLAIN_IDENTIFIER = /^[a-z_][a-z0-9_$]*$/;
const RESERVED = new Set([
  'all',
  'and',
  'as',
  'case',
  'check',
  'column',
  'default',
  'desc',
  'do',
  'end',
  'for',
  'from',
  'group',
  'in',
  'limit',
  'not',
  'null',
  'offset',
  'on',
  'or',
  'order',
  'select',
  'table',
  'to',
  'user',
  'when',
  'where',
  'with',
]);

/** An identifier as SQL must spell it: quoted when it has capitals, odd characters or is reserved. */
export function quoteIdentifier(name: string): string {
  return PLAIN_IDENTIFIER.test(name) && !RESERVED.has(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/** `users` for tables in public, `audit.events` elsewhere. */
export function qualifiedName(schema: string, relation: string): string {
  return schema === 'public' ? quoteIdentifier(relation) : `${quoteIdentifier(schema)}.${quoteIdentifier(relation)}`;
}

/** The nested namespace lang-sql completes from: schema -> table -> columns (with their types). */
export function completionNamespace(schema: SourceSchema): SQLNamespace {
  const namespace: Record<string, SQLNamespace> = {};
  for (const { name, relations } of schema.schemas) {
    const tables: Record<string, SQLNamespace> = {};
    for (const relation of relations) {
      tables[relation.name] = {
        self: {
          label: relation.name,
          type: relation.kind === 'table' ? 'type' : 'class',
          detail: relation.kind.replace('_', ' '),
        },
        // Restricted columns stay listed (greyed, last) so people learn they exist and who can read them.
        children: relation.columns.map((column) =>
          column.restricted
            ? { label: column.name, type: 'property restricted', detail: restrictedLabel(column.restricted), boost: -50 }
            : { label: column.name, type: 'property', detail: column.type },
        ),
      };
    }
    namespace[name] = tables;
  }
  return namespace;
}

/** Relations whose name (or schema-qualified name) contains the search text. */
export function searchRelations(schema: SourceSchema, text: string): Array<{ schema: string; relation: SchemaRelation }> {
  const needle = text.trim().toLowerCase();
  const found: Array<{ schema: string; relation: SchemaRelation }> = [];
  for (const { name, relations } of schema.schemas) {
    for (const relation of relations) {
      if (!needle || `${name}.${relation.name}`.toLowerCase().includes(needle)) found.push({ schema: name, relation });
    }
  }
  return found;
}
