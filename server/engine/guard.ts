// The second wall (DESIGN.md "The engine's layers", 3): PostgreSQL's own parser, through libpg-query,
// accepts exactly one read-only statement and explains every refusal with its position. The reader role's
// grants and the read-only transaction are the boundary; this guard gives people a clear message first.
import { loadModule, parseSync, type ParseResult } from 'libpg-query';
import { AppError } from '../lib/errors.js';
import { codePointToUtf16, positionAt, utf8ByteToUtf16, type OffsetMap } from './sql-position.js';

export type StatementKind = 'select' | 'explain' | 'show';

export interface CheckedStatement {
  kind: StatementKind;
  /** The statement without surrounding comments or its trailing semicolon, as UTF-16 offsets into the text. */
  start: number;
  end: number;
}

type AstNode = Record<string, unknown>;

let parserReady: Promise<void> | undefined;
/** Loads the parser's WebAssembly module once; every check waits for it. */
export function loadSqlParser(): Promise<void> {
  parserReady ??= loadModule();
  return parserReady;
}

const DATA_MODIFYING = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

const TRANSACTION_WORDS: Record<string, string> = {
  TRANS_STMT_BEGIN: 'BEGIN',
  TRANS_STMT_START: 'START TRANSACTION',
  TRANS_STMT_COMMIT: 'COMMIT',
  TRANS_STMT_ROLLBACK: 'ROLLBACK',
  TRANS_STMT_SAVEPOINT: 'SAVEPOINT',
  TRANS_STMT_RELEASE: 'RELEASE SAVEPOINT',
  TRANS_STMT_ROLLBACK_TO: 'ROLLBACK TO SAVEPOINT',
  TRANS_STMT_PREPARE: 'PREPARE TRANSACTION',
  TRANS_STMT_COMMIT_PREPARED: 'COMMIT PREPARED',
  TRANS_STMT_ROLLBACK_PREPARED: 'ROLLBACK PREPARED',
};

const STATEMENT_WORDS: Record<string, string> = {
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
  VariableSetStmt: 'SET',
  VariableResetStmt: 'RESET',
  DoStmt: 'DO',
  CallStmt: 'CALL',
  PrepareStmt: 'PREPARE',
  ExecuteStmt: 'EXECUTE',
  DeallocateStmt: 'DEALLOCATE',
  DeclareCursorStmt: 'DECLARE CURSOR',
  FetchStmt: 'FETCH',
  ClosePortalStmt: 'CLOSE',
  ListenStmt: 'LISTEN',
  NotifyStmt: 'NOTIFY',
  UnlistenStmt: 'UNLISTEN',
  CopyStmt: 'COPY',
  LockStmt: 'LOCK TABLE',
  CreateStmt: 'CREATE TABLE',
  CreateTableAsStmt: 'CREATE TABLE AS',
  IndexStmt: 'CREATE INDEX',
  ViewStmt: 'CREATE VIEW',
  DropStmt: 'DROP',
  TruncateStmt: 'TRUNCATE',
  GrantStmt: 'GRANT / REVOKE',
  CheckPointStmt: 'CHECKPOINT',
  DiscardStmt: 'DISCARD',
  LoadStmt: 'LOAD',
  RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW',
};

/** 'CreateFunctionStmt' -> 'CREATE FUNCTION', for statements without a friendlier name above. */
function wordsOf(nodeName: string): string {
  return nodeName
    .replace(/Stmt$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

function statementName(nodeName: string, node: AstNode): string {
  if (nodeName === 'TransactionStmt') return TRANSACTION_WORDS[String(node.kind)] ?? 'transaction control';
  if (nodeName === 'VacuumStmt') return node.is_vacuumcmd ? 'VACUUM' : 'ANALYZE';
  if (nodeName === 'VariableSetStmt' && String(node.name).toLowerCase().startsWith('transaction')) return 'SET TRANSACTION';
  return STATEMENT_WORDS[nodeName] ?? wordsOf(nodeName);
}

function refusalReason(nodeName: string, name: string): string {
  if (nodeName === 'TransactionStmt' || name === 'SET TRANSACTION')
    return `${name} is not available: Porthole runs each query in its own read-only transaction.`;
  if (DATA_MODIFYING.has(nodeName)) return `${name} is not allowed: Porthole is read-only.`;
  if (nodeName === 'VariableSetStmt' || nodeName === 'VariableResetStmt')
    return `${name} is not allowed: session settings (and the role) cannot be changed; each run starts from Porthole's settings and the access tier it chose.`;
  if (nodeName === 'DoStmt' || nodeName === 'CallStmt') return `${name} is not allowed: Porthole does not run procedural code.`;
  if (nodeName === 'CopyStmt') return 'COPY is not available: use "Download CSV" to export a result.';
  if (['PrepareStmt', 'ExecuteStmt', 'DeallocateStmt', 'DeclareCursorStmt', 'FetchStmt', 'ClosePortalStmt'].includes(nodeName))
    return `${name} is not available: Porthole prepares and streams each query itself.`;
  if (['ListenStmt', 'NotifyStmt', 'UnlistenStmt'].includes(nodeName)) return `${name} is not available in Porthole.`;
  return `${name} is not allowed: Porthole runs read-only queries (SELECT, WITH … SELECT, VALUES, TABLE, EXPLAIN and SHOW).`;
}

// Functions and views a query must not use even where the role could (on managed databases such as RDS
// the master user cannot revoke them from PUBLIC): they reach other sessions of the shared role, write
// large objects, or run SQL given as text, which no guard could see.
const SESSION_FUNCTIONS = ['pg_cancel_backend', 'pg_terminate_backend', 'pg_stat_get_activity', 'pg_stat_get_backend_activity'];
const LARGE_OBJECT_WRITERS = ['lo_from_bytea', 'lo_create', 'lo_creat', 'lo_import', 'lo_export', 'lo_put', 'lo_open', 'lowrite'];
const DYNAMIC_SQL = ['query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema', 'cursor_to_xml', 'cursor_to_xmlschema'];
const DENIED_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ...SESSION_FUNCTIONS.map(
    (name) => [name, 'it would reach other users’ sessions (every Porthole user shares the database role)'] as const,
  ),
  ...['lo_unlink', 'lo_truncate', 'lo_truncate64', ...LARGE_OBJECT_WRITERS].map(
    (name) => [name, 'it writes large objects'] as const,
  ),
  ...DYNAMIC_SQL.map((name) => [name, 'it runs SQL given as text, which Porthole cannot check'] as const),
  ['pg_stat_statements', 'it shows every Porthole user’s statements'],
]);
const DENIED_RELATIONS: ReadonlyMap<string, string> = new Map([
  ['pg_stat_activity', 'it shows other users’ queries (every Porthole user shares the database role)'],
  ['pg_stat_statements', 'it shows every Porthole user’s statements'],
]);

interface Finding {
  problem: 'data_modifying' | 'locking' | 'denied_function' | 'denied_relation';
  nodeName: string;
  location?: number;
  reason?: string;
}

function lastName(names: unknown): string | undefined {
  if (!Array.isArray(names) || names.length === 0) return undefined;
  const last = names[names.length - 1] as { String?: { sval?: string } };
  return last.String?.sval;
}

// Settings that change who the session is. The tier's login role is chosen by Porthole per run (issue #13);
// the role is not a member of any other, so PostgreSQL refuses these too, but the guard says why first.
const IDENTITY_SETTINGS = new Set(['role', 'session_authorization']);

/** set_config's setting name when it is written as a literal ('role', 'role'::text), else undefined. */
function literalSettingName(arg: unknown): string | undefined {
  let node = arg as { A_Const?: { sval?: { sval?: string } }; TypeCast?: { arg?: unknown } } | undefined;
  while (node?.TypeCast) node = node.TypeCast.arg as typeof node;
  return node?.A_Const?.sval?.sval;
}

/** set_config naming the role or session authorization, or a name the guard cannot read. */
function roleChange(call: { args?: unknown[]; location?: number }): Finding | undefined {
  const setting = literalSettingName(call.args?.[0])?.trim().toLowerCase();
  if (setting !== undefined && !IDENTITY_SETTINGS.has(setting)) return undefined;
  return {
    problem: 'denied_function',
    nodeName: 'set_config',
    location: call.location,
    reason:
      setting === undefined
        ? 'its setting name must be written out as text, so Porthole can see it does not change the role'
        : 'it would change the database role; Porthole chooses the role (access tier) of each run from your groups',
  };
}

/** A call or relation the guard refuses by name (see DENIED_FUNCTIONS), or undefined. */
function deniedName(key: string, value: unknown): Finding | undefined {
  if (key === 'FuncCall' && value && typeof value === 'object') {
    const call = value as { funcname?: unknown; args?: unknown[]; location?: number };
    const name = lastName(call.funcname);
    if (name === undefined) return undefined;
    if (name === 'set_config') return roleChange(call);
    const reason = DENIED_FUNCTIONS.get(name) ?? (name.startsWith('dblink') ? 'it connects to other databases' : undefined);
    return reason ? { problem: 'denied_function', nodeName: name, location: call.location, reason } : undefined;
  }
  if (key === 'RangeVar' && value && typeof value === 'object') {
    const relation = value as { relname?: string; location?: number };
    const reason = relation.relname ? DENIED_RELATIONS.get(relation.relname) : undefined;
    return reason ? { problem: 'denied_relation', nodeName: relation.relname!, location: relation.location, reason } : undefined;
  }
  return undefined;
}

/** Depth-first search for a data-modifying statement, a row-locking clause or a refused name anywhere in the tree. */
function findWrite(node: unknown): Finding | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = findWrite(item);
      if (found) return found;
    }
    return undefined;
  }
  if (!node || typeof node !== 'object') return undefined;
  for (const [key, value] of Object.entries(node as AstNode)) {
    if (DATA_MODIFYING.has(key)) return { problem: 'data_modifying', nodeName: key, location: firstLocation(value) };
    if (key === 'lockingClause' && Array.isArray(value) && value.length > 0) return { problem: 'locking', nodeName: key };
    const denied = deniedName(key, value);
    if (denied) return denied;
    const found = findWrite(value);
    if (found) return found;
  }
  return undefined;
}

function firstLocation(node: unknown): number | undefined {
  if (!node || typeof node !== 'object') return undefined;
  for (const [key, value] of Object.entries(node as AstNode)) {
    if (key === 'location' && typeof value === 'number' && value >= 0) return value;
    const inner = firstLocation(value);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/**
 * Parses `text` (the SQL with variables already replaced by $n) and returns the statement's kind, or
 * throws a 400 whose position points into `original` (the SQL as the user wrote it).
 */
export async function checkStatement(text: string, original: string, offsets: OffsetMap): Promise<CheckedStatement> {
  await loadSqlParser();
  const fail = (code: string, message: string, rewrittenOffset?: number, extra: Record<string, unknown> = {}): AppError =>
    new AppError(400, code, message, {
      ...extra,
      ...(rewrittenOffset === undefined ? {} : { position: positionAt(original, offsets.toOriginal(rewrittenOffset)) }),
    });
  const fromBytes = (bytes: number | undefined) => utf8ByteToUtf16(text, bytes ?? 0);

  let parsed: ParseResult;
  try {
    parsed = parseSync(text);
  } catch (error) {
    const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
    const message = details?.message ?? (error instanceof Error ? error.message : String(error));
    const at = details?.cursorPosition;
    throw fail('syntax_error', capitalise(message), at === undefined ? undefined : codePointToUtf16(text, at));
  }

  const statements = parsed.stmts ?? [];
  if (statements.length === 0) throw fail('empty_sql', 'There is no SQL to run (only comments or whitespace).');
  if (statements.length > 1) {
    throw fail(
      'multiple_statements',
      'Porthole runs one statement at a time; remove the statements after the first one (or run them one by one).',
      fromBytes(statements[1]!.stmt_location),
    );
  }

  const raw = statements[0]!;
  const start = fromBytes(raw.stmt_location);
  const end = raw.stmt_len ? fromBytes((raw.stmt_location ?? 0) + raw.stmt_len) : text.length;
  const [nodeName, body] = Object.entries(raw.stmt ?? {})[0] as [string, AstNode];

  let kind: StatementKind;
  let checked: unknown = body;
  if (nodeName === 'SelectStmt') kind = 'select';
  else if (nodeName === 'VariableShowStmt') kind = 'show';
  else if (nodeName === 'ExplainStmt') {
    const [innerName, inner] = Object.entries((body.query ?? {}) as AstNode)[0] ?? ['', {}];
    if (innerName !== 'SelectStmt') {
      const name = statementName(innerName, inner as AstNode);
      throw fail('statement_not_allowed', `EXPLAIN ${refusalReason(innerName, name)}`, start, { statement: `EXPLAIN ${name}` });
    }
    kind = 'explain';
    checked = inner;
  } else {
    const name = statementName(nodeName, body);
    throw fail('statement_not_allowed', refusalReason(nodeName, name), start, { statement: name });
  }

  if ((checked as AstNode).intoClause) {
    throw fail('statement_not_allowed', 'SELECT … INTO creates a table and is not allowed: Porthole is read-only.', start, {
      statement: 'SELECT INTO',
    });
  }
  const write = findWrite(checked);
  if (write?.problem === 'data_modifying') {
    const name = statementName(write.nodeName, {});
    throw fail(
      'statement_not_allowed',
      `${name} inside a query (for example in a WITH clause) is not allowed: Porthole is read-only.`,
      write.location === undefined ? start : fromBytes(write.location),
      { statement: name },
    );
  }
  if (write?.problem === 'denied_function' || write?.problem === 'denied_relation') {
    const what = write.problem === 'denied_function' ? `${write.nodeName}()` : write.nodeName;
    throw fail('statement_not_allowed', `${what} is not available in Porthole: ${write.reason}.`, fromBytes(write.location), {
      statement: 'SELECT',
      name: write.nodeName,
    });
  }
  if (write?.problem === 'locking') {
    throw fail(
      'statement_not_allowed',
      'FOR UPDATE / FOR SHARE lock rows and are not allowed: Porthole only reads, and must never block the application.',
      start,
      { statement: 'SELECT FOR UPDATE' },
    );
  }
  return { kind, start, end };
}

function capitalise(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}
