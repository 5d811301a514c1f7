// The second wall (DESIGN.md "The engine's layers", 3): PostgreSQL's own parser, through libpg-query,
// accepts exactly one read-only statement and explains every refusal with its position. The reader role's
// grants and the read-only transaction are the boundary; this guard gives people a clear message first.
import { loadModule, parseSync, type ParseResult } from 'libpg-query';
import { AppError } from '../lib/errors.js';
import {
  collectCallSites,
  deniedCallMessage,
  firstLocation,
  judgeCalls,
  STATIC_JUDGE,
  type CallSite,
  type DeniedCall,
} from './function-calls.js';
import { codePointToUtf16, positionAt, utf8ByteToUtf16, type OffsetMap } from './sql-position.js';

export type StatementKind = 'select' | 'explain' | 'show';

export interface CheckedStatement {
  kind: StatementKind;
  /** The statement without surrounding comments or its trailing semicolon, as UTF-16 offsets into the text. */
  start: number;
  end: number;
  /** Every place the statement may invoke a function (judged again against the data source's catalog). */
  calls: CallSite[];
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
    return `${name} is not allowed: session settings cannot be changed; each run starts from Porthole's settings.`;
  if (nodeName === 'DoStmt' || nodeName === 'CallStmt') return `${name} is not allowed: Porthole does not run procedural code.`;
  if (nodeName === 'CopyStmt') return 'COPY is not available: use "Download CSV" to export a result.';
  if (['PrepareStmt', 'ExecuteStmt', 'DeallocateStmt', 'DeclareCursorStmt', 'FetchStmt', 'ClosePortalStmt'].includes(nodeName))
    return `${name} is not available: Porthole prepares and streams each query itself.`;
  if (['ListenStmt', 'NotifyStmt', 'UnlistenStmt'].includes(nodeName)) return `${name} is not available in Porthole.`;
  return `${name} is not allowed: Porthole runs read-only queries (SELECT, WITH … SELECT, VALUES, TABLE, EXPLAIN and SHOW).`;
}

interface Finding {
  problem: 'data_modifying' | 'locking';
  nodeName: string;
  location?: number;
}

/** Depth-first search for a data-modifying statement or a row-locking clause anywhere in the tree. */
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
    const found = findWrite(value);
    if (found) return found;
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
  if (write?.problem === 'locking') {
    throw fail(
      'statement_not_allowed',
      'FOR UPDATE / FOR SHARE lock rows and are not allowed: Porthole only reads, and must never block the application.',
      start,
      { statement: 'SELECT FOR UPDATE' },
    );
  }
  const calls = collectCallSites(checked);
  const denied = judgeCalls(calls, STATIC_JUDGE);
  if (denied) throw deniedCallError(denied, text, original, offsets);
  return { kind, start, end, calls };
}

/** The 400 for a refused call site, its position pointing into `original`. */
export function deniedCallError(denied: DeniedCall, text: string, original: string, offsets: OffsetMap): AppError {
  const at = denied.site.location === undefined ? undefined : utf8ByteToUtf16(text, denied.site.location);
  return new AppError(400, 'statement_not_allowed', deniedCallMessage(denied), {
    statement: 'SELECT',
    name: denied.site.name,
    ...(at === undefined ? {} : { position: positionAt(original, offsets.toOriginal(at)) }),
  });
}

function capitalise(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}
