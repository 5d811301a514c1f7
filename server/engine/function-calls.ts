// Every place in a parse tree where PostgreSQL may invoke a function (THREATS.md 45), and the judgement
// of those places. A function runs not only as f(x): also written as an attribute, (x).f or t.f (a
// one-argument function on a value or a whole row), behind an operator (a + b calls the operator's
// function), behind a cast or a typed literal (the target type's input and cast functions), as a
// TABLESAMPLE method, and inside views a query reads. The guard judges the names written here against
// pg_catalog's classification (function-classification.ts) at once; the data source's own catalog then
// resolves operators, types, views and functions outside pg_catalog (function-catalog.ts), so neither
// spelling, schema qualification nor search_path decides what is allowed.
import { DENIAL_REASONS, DENIED_FUNCTIONS } from './function-classification.js';

export type CallSiteKind = 'function' | 'attribute' | 'operator' | 'type' | 'relation';

export interface CallSite {
  kind: CallSiteKind;
  /** The name as PostgreSQL's parser produced it (identifiers folded, quotes and escapes resolved). */
  name: string;
  /** The schema it was qualified with, if any. */
  schema?: string;
  /** Byte offset into the parsed text, when the parser gave one. */
  location?: number;
}

/** A refusal: which call site, and why. */
export interface DeniedCall {
  site: CallSite;
  reason: string;
}

/** Functions outside pg_catalog that extensions add, denied by name wherever they are installed. */
const EXTENSION_DENIALS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^dblink/, 'it connects to other databases'],
  [/^pg_stat_statements/, 'it shows every Porthole user’s statements'],
  [/^pg_file_(write|rename|unlink|sync)$|^pg_logdir_ls$/, 'it writes or lists the server’s files'],
];

/** Relations refused by name even before the data source's catalog is read. */
export const DENIED_RELATIONS: ReadonlyMap<string, string> = new Map([
  ['pg_stat_activity', 'it shows other users’ queries (every Porthole user shares the database role)'],
  ['pg_stat_statements', 'it shows every Porthole user’s statements'],
]);

/** Why a function of this name is refused by the checked-in rules, or undefined. */
export function staticDenial(name: string): string | undefined {
  const kind = DENIED_FUNCTIONS[name];
  if (kind) return DENIAL_REASONS[kind];
  return EXTENSION_DENIALS.find(([pattern]) => pattern.test(name))?.[1];
}

type AstNode = Record<string, unknown>;

function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((item) => (item as { String?: { sval?: string } }).String?.sval).filter((s): s is string => s !== undefined);
}

function qualified(kind: CallSiteKind, list: unknown, location: unknown): CallSite | undefined {
  const parts = names(list);
  if (parts.length === 0) return undefined;
  const site: CallSite = { kind, name: parts[parts.length - 1]! };
  if (parts.length > 1) site.schema = parts[parts.length - 2];
  if (typeof location === 'number' && location >= 0) site.location = location;
  return site;
}

const BETWEEN_KINDS = new Set(['AEXPR_BETWEEN', 'AEXPR_NOT_BETWEEN', 'AEXPR_BETWEEN_SYM', 'AEXPR_NOT_BETWEEN_SYM']);

/** The call sites one parse-tree node holds directly (its children are visited separately). */
function sitesOf(key: string, node: AstNode): CallSite[] {
  const at = node.location;
  switch (key) {
    case 'FuncCall':
      return [qualified('function', node.funcname, at)].filter((s) => s !== undefined);
    case 'RangeTableSample':
      return [qualified('function', node.method, at)].filter((s) => s !== undefined);
    case 'ColumnRef': {
      // a.b is column b of a, or else the function b(a); a.b.c may be c(a.b). Every name after the first
      // may therefore be a function: all are judged as functions (a column named like a denied function is
      // refused too, which is the safe side).
      const parts = names(node.fields);
      return parts
        .slice(1)
        .map((name) => ({ kind: 'attribute' as const, name, ...(typeof at === 'number' ? { location: at } : {}) }));
    }
    case 'A_Indirection': {
      const location = firstLocation(node.arg);
      return names(node.indirection).map((name) => ({
        kind: 'attribute' as const,
        name,
        ...(location === undefined ? {} : { location }),
      }));
    }
    case 'A_Expr': {
      // BETWEEN is spelled as a keyword in the tree; PostgreSQL runs it with the >= and <= operators.
      if (BETWEEN_KINDS.has(String(node.kind))) {
        return ['>=', '<='].map((name) => ({
          kind: 'operator' as const,
          name,
          ...(typeof at === 'number' ? { location: at } : {}),
        }));
      }
      return [qualified('operator', node.name, at)].filter((s) => s !== undefined);
    }
    case 'SubLink':
      return [qualified('operator', node.operName, at)].filter((s) => s !== undefined);
    case 'SortBy':
      return [qualified('operator', node.useOp, at)].filter((s) => s !== undefined);
    case 'TypeName':
    case 'typeName': // a TypeName field is not wrapped in its node name (TypeCast, ColumnDef, JSON output)
      return [qualified('type', node.names, at)].filter((s) => s !== undefined);
    case 'RangeVar': {
      const relname = node.relname;
      if (typeof relname !== 'string') return [];
      return [
        {
          kind: 'relation',
          name: relname,
          ...(typeof node.schemaname === 'string' ? { schema: node.schemaname } : {}),
          ...(typeof at === 'number' && at >= 0 ? { location: at } : {}),
        },
      ];
    }
    default:
      return [];
  }
}

export function firstLocation(node: unknown): number | undefined {
  const stack: unknown[] = [node];
  while (stack.length > 0) {
    const current = stack.pop();
    if (!current || typeof current !== 'object') continue;
    const entries = Object.entries(current as AstNode);
    for (const [key, value] of entries) if (key === 'location' && typeof value === 'number' && value >= 0) return value;
    for (let i = entries.length - 1; i >= 0; i--) stack.push(entries[i]![1]);
  }
  return undefined;
}

/** Every call site in a parse tree, in no particular order. Iterative: a deep tree cannot overflow the stack. */
export function collectCallSites(tree: unknown): CallSite[] {
  const sites: CallSite[] = [];
  const stack: unknown[] = [tree];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const item of node) stack.push(item);
      continue;
    }
    if (!node || typeof node !== 'object') continue;
    for (const [key, value] of Object.entries(node as AstNode)) {
      if (value && typeof value === 'object' && !Array.isArray(value)) sites.push(...sitesOf(key, value as AstNode));
      stack.push(value);
    }
  }
  return sites.sort((a, b) => (a.location ?? Number.MAX_SAFE_INTEGER) - (b.location ?? Number.MAX_SAFE_INTEGER));
}

/** What a data source's catalog says is refused, by the name a query writes (see function-catalog.ts). */
export interface CallJudge {
  function(name: string): string | undefined;
  operator(name: string): string | undefined;
  type(name: string): string | undefined;
  relation(name: string): string | undefined;
}

/** The checked-in rules alone: function names by the classification, relations by DENIED_RELATIONS. */
export const STATIC_JUDGE: CallJudge = {
  function: staticDenial,
  operator: () => undefined,
  type: () => undefined,
  relation: (name) => DENIED_RELATIONS.get(name),
};

/** The first call site the judge refuses, or undefined. */
export function judgeCalls(sites: readonly CallSite[], judge: CallJudge): DeniedCall | undefined {
  for (const site of sites) {
    const reason =
      site.kind === 'function' || site.kind === 'attribute'
        ? judge.function(site.name)
        : site.kind === 'operator'
          ? judge.operator(site.name)
          : site.kind === 'type'
            ? judge.type(site.name)
            : judge.relation(site.name);
    if (reason) return { site, reason };
  }
  return undefined;
}

/** The sentence a refused call site is answered with. */
export function deniedCallMessage({ site, reason }: DeniedCall): string {
  switch (site.kind) {
    case 'function':
      return `${site.name}() is not available in Porthole: ${reason}.`;
    case 'attribute':
      return `${site.name}() (here written as an attribute, .${site.name}) is not available in Porthole: ${reason}.`;
    case 'operator':
      return `The operator ${site.name} is not available in Porthole: ${reason}.`;
    case 'type':
      return `The type ${site.name} is not available in Porthole: ${reason}.`;
    case 'relation':
      return `${site.name} is not available in Porthole: ${reason}.`;
  }
}
