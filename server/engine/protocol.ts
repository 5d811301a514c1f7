// The runner's two ways of reading a result over PostgreSQL's extended query protocol, as pg
// "submittables" (objects a pg Client drives message by message):
//   PortalReader  Parse (with parameter types) / Bind / Describe / Execute n rows at a time, values kept as
//                 the server's text; used for JSON results and parameterised CSV.
//   StatementDescriber Parse / Describe / Sync: a statement's columns before it runs (JSON through COPY).
//   CopyOutReader COPY (query) TO STDOUT through Parse / Bind / Execute: the server formats the rows (CSV
//                 passed on untouched, or text re-framed as JSON), with backpressure down to the socket.
// Neither ever sends the simple Query message, which would accept several statements in one string.
// WireWatch reads only the framing of incoming messages, so a limit can stop a result before a huge row
// is ever buffered.
import type { Duplex } from 'node:stream';
import pg from 'pg';

/** The parts of pg's Connection a submittable uses (its published types lag behind the runtime). */
export interface WireConnection {
  stream: Duplex;
  parse(query: { text: string; types?: number[] }, more: boolean): void;
  bind(config: { portal?: string; values?: Array<string | null> }, more: boolean): void;
  describe(message: { type: 'P' | 'S'; name?: string }, more: boolean): void;
  execute(config: { portal?: string; rows?: number }, more: boolean): void;
  flush(): void;
  sync(): void;
  /** pg's Connection emits every backend message by name; submittables are not told of CopyOutResponse. */
  once(event: 'copyOutResponse', listener: () => void): unknown;
  removeListener(event: 'copyOutResponse', listener: () => void): unknown;
}

export interface FieldDescription {
  name: string;
  dataTypeID: number;
}

type TextRow = Array<string | null>;

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  return { promise, resolve, reject };
}

/** A backend error (the backend then waits for Sync) as opposed to a dead socket. */
function isBackendError(error: unknown): boolean {
  return error instanceof pg.DatabaseError;
}

/** Resolves when the query has fully left pg's hands (ReadyForQuery seen, or the connection failed). */
abstract class Submitted {
  protected connection?: WireConnection;
  protected failure?: unknown;
  /** Set by the runner when it cut the result short on purpose (limit or cancel), so errors are expected. */
  stopped = false;
  readonly settled = deferred<void>();

  abstract submit(connection: WireConnection): void;

  handleReadyForQuery(): void {
    this.settled.resolve();
  }

  handleError(error: unknown): void {
    if (isBackendError(error) && this.connection?.stream.writable) this.connection.sync();
    if (this.stopped) this.onStopped();
    else {
      this.failure ??= error;
      this.onError(error);
    }
    // pg forgets the active query on an error: the ReadyForQuery our Sync provokes is not passed to us.
    this.settled.resolve();
  }

  protected abstract onError(error: unknown): void;
  /** The connection failed after the runner stopped the result on purpose: end with what arrived. */
  protected abstract onStopped(): void;

  handleEmptyQuery(): void {
    this.connection?.sync();
  }
  handleRowDescription(_message: { fields: FieldDescription[] }): void {}
  handleDataRow(_message: { fields: TextRow }): void {}
  handlePortalSuspended(): void {}
  handleCommandComplete(_message: { command?: string; rowCount?: number }): void {}
  handleCopyData(_message: { chunk: Buffer }): void {}
  handleCopyInResponse(): void {
    this.connection?.sync();
  }
}

export interface Batch {
  rows: TextRow[];
  /** No more rows after these. */
  done: boolean;
}

export class PortalReader extends Submitted {
  private readonly description = deferred<FieldDescription[]>();
  private pending?: Deferred<Batch>;
  private rows: TextRow[] = [];
  private complete = false;
  private synced = false;

  constructor(
    private readonly text: string,
    private readonly values: string[],
    private readonly types: number[],
    private readonly firstBatch: number,
  ) {
    super();
  }

  submit(connection: WireConnection): void {
    this.connection = connection;
    this.pending = deferred<Batch>();
    connection.parse({ text: this.text, types: this.types }, true);
    connection.bind({ portal: '', values: this.values }, true);
    connection.describe({ type: 'P', name: '' }, true);
    connection.execute({ portal: '', rows: this.firstBatch }, true);
    connection.flush();
  }

  /** The result's columns (empty for a statement that returns none). */
  fields(): Promise<FieldDescription[]> {
    return this.description.promise;
  }

  /** The next batch of at most `rows` rows; the first call returns the batch requested on submit. */
  next(rows: number): Promise<Batch> {
    if (this.pending) return this.pending.promise.finally(() => (this.pending = undefined));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.complete) return Promise.resolve({ rows: [], done: true });
    this.pending = deferred<Batch>();
    const batch = this.pending.promise.finally(() => (this.pending = undefined));
    this.connection!.execute({ portal: '', rows }, true);
    this.connection!.flush();
    return batch;
  }

  /** Ends the protocol exchange early (the portal dies with the transaction) and waits until pg is idle. */
  async finish(): Promise<void> {
    if (!this.complete && this.failure === undefined && !this.synced) {
      this.synced = true;
      this.connection?.sync();
    }
    await this.settled.promise;
  }

  override handleRowDescription(message: { fields: FieldDescription[] }): void {
    this.description.resolve(message.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })));
  }

  override handleDataRow(message: { fields: TextRow }): void {
    this.rows.push(message.fields);
  }

  override handlePortalSuspended(): void {
    this.deliver(false);
  }

  override handleCommandComplete(): void {
    this.complete = true;
    this.description.resolve([]);
    this.deliver(true);
    if (!this.synced) {
      this.synced = true;
      this.connection?.sync();
    }
  }

  private deliver(done: boolean): void {
    const rows = this.rows;
    this.rows = [];
    this.pending?.resolve({ rows, done });
  }

  protected onError(error: unknown): void {
    this.description.reject(error);
    this.pending?.reject(error);
  }

  protected onStopped(): void {
    this.complete = true;
    this.description.resolve([]);
    this.deliver(true);
  }
}

/**
 * Parse + Describe (statement) + Sync: the columns a statement would return, without executing it. Used
 * to decide how a JSON result is formatted before the statement runs.
 */
export class StatementDescriber extends Submitted {
  private fields?: FieldDescription[];
  private readonly described = deferred<FieldDescription[]>();

  constructor(
    private readonly text: string,
    private readonly types: number[],
  ) {
    super();
  }

  submit(connection: WireConnection): void {
    this.connection = connection;
    connection.parse({ text: this.text, types: this.types }, true);
    connection.describe({ type: 'S', name: '' }, true);
    connection.sync();
  }

  /** The columns (empty for a statement that returns none); rejects with the backend's error. */
  columns(): Promise<FieldDescription[]> {
    return this.described.promise;
  }

  override handleRowDescription(message: { fields: FieldDescription[] }): void {
    this.fields = message.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID }));
  }

  override handleReadyForQuery(): void {
    this.described.resolve(this.fields ?? []);
    super.handleReadyForQuery();
  }

  /** The Sync already went out with the request, so an error needs no second one (its ReadyForQuery ends it). */
  override handleError(error: unknown): void {
    this.failure ??= error;
    this.onError(error);
    this.settled.resolve();
  }

  protected onError(error: unknown): void {
    this.described.reject(error);
  }

  protected onStopped(): void {
    this.described.resolve([]);
  }
}

/**
 * COPY ... TO STDOUT. PostgreSQL sends one CopyData message per row (the header line included), so rows
 * are counted without parsing CSV. `onRow` returns false to ask for a pause (the socket stops reading).
 */
export class CopyOutReader extends Submitted {
  rows = 0;
  private readonly finished = deferred<void>();

  /** `onStart`: the COPY is running (its plan passed the executor's checks) and rows will follow. */
  constructor(
    private readonly text: string,
    private readonly onRow: (chunk: Buffer) => void,
    private readonly onStart?: () => void,
  ) {
    super();
  }

  submit(connection: WireConnection): void {
    this.connection = connection;
    const onStart = this.onStart;
    if (onStart) {
      connection.once('copyOutResponse', onStart);
      void this.settled.promise.then(() => connection.removeListener('copyOutResponse', onStart));
    }
    connection.parse({ text: this.text }, true);
    connection.bind({ portal: '', values: [] }, true);
    connection.execute({ portal: '', rows: 0 }, true);
    connection.sync();
  }

  /** Resolves when the COPY completed, rejects with the backend's error. */
  done(): Promise<void> {
    return this.finished.promise;
  }

  /**
   * The Sync went out with the request, so an error needs no second one: the ReadyForQuery it provoked
   * would be taken for the answer to the connection's next query (the reset's ROLLBACK).
   */
  override handleError(error: unknown): void {
    if (this.stopped) this.onStopped();
    else {
      this.failure ??= error;
      this.onError(error);
    }
    this.settled.resolve();
  }

  override handleCopyData(message: { chunk: Buffer }): void {
    this.rows++;
    if (!this.stopped) this.onRow(message.chunk);
  }

  override handleCommandComplete(): void {
    this.finished.resolve();
  }

  protected onError(error: unknown): void {
    this.finished.reject(error);
  }

  protected onStopped(): void {
    this.finished.resolve();
  }

  pause(): void {
    this.connection?.stream.pause();
  }

  resume(): void {
    this.connection?.stream.resume();
  }
}

export type WireLimit = 'max_bytes' | 'max_row_bytes';

/**
 * Follows message boundaries on the database socket (it must be attached while the connection is idle,
 * so the next byte starts a message) and counts the bytes of DataRow ('D') and CopyData ('d') messages.
 * When one message would exceed `maxRowBytes`, or all of them `maxBytes`, it calls `onLimit` once, before
 * pg has buffered that message.
 */
export class WireWatch {
  bytes = 0;
  limit?: WireLimit;
  private header = Buffer.alloc(5);
  private headerFill = 0;
  private skip = 0;
  private readonly listener = (chunk: Buffer) => this.observe(chunk);

  constructor(
    private readonly stream: Duplex,
    private readonly limits: { maxBytes: number; maxRowBytes: number },
    private readonly onLimit: (limit: WireLimit) => void,
  ) {
    stream.prependListener('data', this.listener);
  }

  detach(): void {
    this.stream.removeListener('data', this.listener);
  }

  private observe(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const step = Math.min(this.skip, chunk.length - at);
        this.skip -= step;
        at += step;
        continue;
      }
      const take = Math.min(5 - this.headerFill, chunk.length - at);
      chunk.copy(this.header, this.headerFill, at, at + take);
      this.headerFill += take;
      at += take;
      if (this.headerFill < 5) return;
      this.headerFill = 0;
      const type = this.header[0];
      const length = this.header.readUInt32BE(1) - 4;
      this.skip = length;
      if ((type === 0x44 || type === 0x64) && this.limit === undefined) {
        this.bytes += length;
        if (length > this.limits.maxRowBytes) this.trip('max_row_bytes');
        else if (this.bytes > this.limits.maxBytes) this.trip('max_bytes');
      }
    }
  }

  private trip(limit: WireLimit): void {
    this.limit = limit;
    this.onLimit(limit);
  }
}
