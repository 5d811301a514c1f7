// Executes one prepared statement on one RunConnection and shapes the result: JSON capped by rows and
// bytes, or a CSV stream capped by rows; each through COPY when the statement allows it, the cursor
// otherwise. Memory stays flat: COPY bytes flow with backpressure down to the socket, cursor rows are
// fetched in batches, and a WireWatch stops any single row or result that would not fit before pg
// buffers it.
import { CsvStream } from './csv-stream.js';
import { CopyJsonBatch } from './copy-json.js';
import {
  CopyOutReader,
  deferred,
  PortalReader,
  StatementDescriber,
  WireWatch,
  type FieldDescription,
  type WireLimit,
} from './protocol.js';
import type { StatementKind } from './guard.js';
import type { RunConnection } from './run-connection.js';
import type { CancelReason } from './run-errors.js';
import { copyText, cursorText, jsonCopyText, type PreparedStatement, type SentText } from './statement.js';
import { columnInfo, convertRows, converterFor, csvLine, type ColumnInfo } from './values.js';

export interface ExecutionLimits {
  maxRows: number;
  /** Bytes of row JSON per result, counted as sent (escapes included). */
  maxBytes: number;
  /** Bytes of one row; larger rows end the result (JSON) or the download (CSV). */
  maxRowBytes: number;
}

export type TruncatedBy = 'rows' | 'bytes' | 'row_size';

export interface JsonResult {
  columns: ColumnInfo[];
  rowCount: number;
  /** Bytes of row JSON handed to the sink (what the byte cap counts). */
  bytes: number;
  truncated: boolean;
  truncatedBy?: TruncatedBy;
}

/**
 * Receives a JSON result as it is read (the NDJSON form of POST /api/runs): the columns once, then each
 * batch of rows as comma-separated JSON array elements. Rows handed here are not also kept in memory.
 */
export interface RowSink {
  /** The columns; `run` names the run (the service adds it, the executor does not know it). */
  columns(columns: ColumnInfo[], run?: { id: string; statement: StatementKind }): void;
  /**
   * One batch: JSON arrays, comma-separated, as UTF-8 (the sink may keep the buffer). Resolves when the
   * rows are on their way and the next batch may be read (backpressure); never called while a previous
   * call is unresolved.
   */
  rows(rowsJson: Buffer, count: number): void | Promise<void>;
}

const COMMA = Buffer.from(',');

/** A sink that keeps the whole result in memory, for callers that want it whole. */
export class RowCollector implements RowSink {
  described: ColumnInfo[] = [];
  private readonly parts: Buffer[] = [];

  columns(columns: ColumnInfo[]): void {
    this.described = columns;
  }

  rows(rowsJson: Buffer): void {
    this.parts.push(rowsJson);
  }

  /** The rows as JSON array elements, comma-separated, UTF-8, ready to be placed inside [ ]. */
  get rowsJson(): Buffer {
    return Buffer.concat(this.parts.flatMap((part, i) => (i > 0 ? [COMMA, part] : [part])));
  }
}

/**
 * How a JSON result's rows were formatted: PostgreSQL's text through COPY, re-framed (copy-json.ts), or a
 * cursor's values through the converters (values.ts). Both give the same bytes (test/engine/json-formatting.test.ts).
 */
export type JsonFormatting = 'copy' | 'converters';

export interface JsonOptions {
  /** Small first batches for a page that shows rows as they come (NDJSON), or larger ones (default). */
  batches?: 'document' | 'stream';
  /** 'converters' runs the cursor even where COPY could run the statement (to compare the two). */
  formatting?: JsonFormatting;
}

export interface CsvOutcome {
  rowCount: number;
  truncated: boolean;
  truncatedBy?: TruncatedBy;
  bytes: number;
}

const FIRST_BATCH = 2_000;
const NEXT_BATCH = 10_000;
/** Smaller batches when rows go to the page as they arrive: the first ones show within moments. */
const STREAM_FIRST_BATCH = 100;
const STREAM_NEXT_BATCH = 1_000;
/** JSON per batch the row count aims at (from the average row so far), and the fewest rows per batch. */
const BATCH_BYTES = 1024 * 1024;
const MIN_BATCH = 100;
/** The wire guard of a JSON result, as a multiple of its byte cap (see json()). */
const WIRE_BYTES_PER_JSON_BYTE = 3;
/** After a cancel request, how long the backend gets to answer before the socket is cut. */
const CANCEL_GRACE_MS = 2_000;

const LIMIT_TO_TRUNCATION: Record<WireLimit, TruncatedBy> = { max_bytes: 'bytes', max_row_bytes: 'row_size' };

/** One run on one connection. cancel() may come from anywhere (API, timeout, disconnect) at any time. */
export class Execution {
  cancelReason?: CancelReason;
  /** The text sent, for mapping error positions back to the user's SQL. */
  sent: SentText;
  /** Set by json() once it knows how the rows are formatted. */
  formatting?: JsonFormatting;
  private readonly cancelled = deferred<void>();
  private watch?: WireWatch;
  private stopReaderOnCut?: () => void;
  /** Unblocks a CSV download on cancel: its consumer may be stalled, and its socket paused. */
  private onCancel?: () => void;
  private finished = false;
  private graceTimer?: NodeJS.Timeout;

  constructor(
    readonly connection: RunConnection,
    readonly prepared: PreparedStatement,
  ) {
    this.sent = cursorText(prepared);
  }

  cancel(reason: CancelReason): void {
    if (this.finished || this.cancelReason) return;
    this.cancelReason = reason;
    this.cancelled.resolve();
    void this.connection.cancel();
    this.onCancel?.();
    this.graceTimer = setTimeout(() => {
      if (!this.finished) this.connection.cut();
    }, CANCEL_GRACE_MS);
    this.graceTimer.unref();
  }

  private watchWire(limits: { maxBytes: number; maxRowBytes: number }): void {
    this.watch = new WireWatch(this.connection.wire.stream, limits, () => {
      this.stopReaderOnCut?.();
      void this.connection.cancel();
      this.connection.cut();
    });
  }

  private done(): void {
    this.finished = true;
    this.watch?.detach();
    clearTimeout(this.graceTimer);
  }

  private get truncatedByWire(): TruncatedBy | undefined {
    return this.watch?.limit ? LIMIT_TO_TRUNCATION[this.watch.limit] : undefined;
  }

  /**
   * Reads a JSON result into `sink` batch by batch: a JSON document through COPY where COPY can run the
   * statement (copyJson), through a cursor otherwise: parameterised statements, EXPLAIN, SHOW, and rows
   * streamed to the page (NDJSON), whose first rows must show at once while PostgreSQL holds COPY output
   * until 8 KB have gathered. Either way a reader that stops reading stalls the database instead of growing
   * memory, and the byte cap counts the rows as they go out (JSON text, escapes included).
   */
  async json(limits: ExecutionLimits, sink: RowSink, options: JsonOptions = {}): Promise<JsonResult> {
    const batches = options.batches ?? 'document';
    // The wire guard bounds memory between two batches; the cap itself is on what is sent (below). Wire
    // bytes of a row are at most ~2.5 times its JSON (tiny integers, empty strings), hence the factor.
    this.watchWire({ maxBytes: limits.maxBytes * WIRE_BYTES_PER_JSON_BYTE, maxRowBytes: limits.maxRowBytes });
    try {
      const copy =
        batches === 'document' && options.formatting !== 'converters'
          ? await jsonCopyText(this.prepared, limits.maxRows + 1)
          : undefined;
      if (copy) {
        // COPY sends no column description: ask for it first (errors in the SQL surface here, before any row).
        const fields = await this.describe(this.sent.text, this.prepared.bound.types);
        this.sent = copy;
        this.formatting = 'copy';
        return await this.copyJson(copy, fields, limits, sink);
      }
      this.formatting = 'converters';
      return await this.cursorJson(limits, sink, batches);
    } finally {
      this.done();
    }
  }

  /**
   * COPY (query) TO STDOUT: PostgreSQL formats every value (as for CSV) and copy-json.ts re-frames each line
   * as a JSON array. Rows stream without a round trip per batch; a batch goes to the sink when it is full,
   * and while the sink is full the database socket is paused, so the backend blocks on its next write.
   */
  private async copyJson(
    sent: SentText,
    fields: FieldDescription[],
    limits: ExecutionLimits,
    sink: RowSink,
  ): Promise<JsonResult> {
    const columns = describeColumns(fields);
    const batch = new CopyJsonBatch(fields.map((f) => f.dataTypeID));
    let announced = false;
    /** Rows and bytes handed to the sink. */
    let rowCount = 0;
    let bytes = 0;
    let truncatedBy: TruncatedBy | undefined;
    /** The sink's answer while it is full (the socket is paused until it resolves). */
    let busy: Promise<void> | undefined;
    /** A failure inside pg's message handler, which must not throw. */
    let failure: unknown;

    const announce = () => {
      if (announced) return;
      announced = true;
      sink.columns(columns);
    };
    const stopCopy = () => {
      reader.stopped = true;
      void this.connection.cancel();
      this.connection.cut();
    };
    const full = () => batch.rows >= (rowCount === 0 ? FIRST_BATCH : NEXT_BATCH) || batch.bytes >= BATCH_BYTES;
    const handOver = (): void => {
      announce();
      const separator = rowCount > 0 ? 1 : 0;
      const offered = batch.rows;
      const { json, rows } = batch.take(limits.maxBytes - bytes - separator);
      if (rows < offered) {
        truncatedBy = 'bytes';
        stopCopy();
      }
      if (rows === 0) return;
      rowCount += rows;
      bytes += json.length + separator;
      const accepted = sink.rows(json, rows);
      if (!accepted) return;
      busy = accepted;
      reader.pause();
      void accepted.then(() => {
        busy = undefined;
        if (reader.stopped) return;
        reader.resume();
        if (full()) guarded(handOver);
      });
    };
    const guarded = (work: () => void) => {
      try {
        work();
      } catch (error) {
        failure ??= error;
        stopCopy();
      }
    };

    const reader = new CopyOutReader(
      sent.text,
      (line) =>
        guarded(() => {
          if (this.cancelReason) return; // what is still on its way after a cancel
          // LIMIT is the row cap plus one: that row says the result was cut, and the COPY ends after it.
          if (rowCount + batch.rows >= limits.maxRows) {
            truncatedBy = 'rows';
            return;
          }
          batch.add(line);
          if (!busy && full()) handOver();
        }),
      () => guarded(announce),
    );
    // A paused socket would never deliver the answer to a cancel.
    this.onCancel = () => reader.resume();
    this.stopReaderOnCut = () => (reader.stopped = true);
    this.connection.submit(reader);
    try {
      await reader.done();
      if (failure !== undefined) throw failure;
      announce();
      // The rest goes out once the sink took what came before it.
      while (busy) await this.untilCancelled(busy);
      if (batch.rows > 0 && truncatedBy !== 'bytes') {
        handOver();
        await this.untilCancelled(busy);
      }
      if (failure !== undefined) throw failure;
      truncatedBy ??= this.truncatedByWire;
      return { columns, rowCount, bytes, truncated: truncatedBy !== undefined, ...(truncatedBy ? { truncatedBy } : {}) };
    } finally {
      await reader.settled.promise;
    }
  }

  /**
   * Through a cursor, batch by batch, the values converted by values.ts. The next batch is fetched only
   * once the sink has taken the last one.
   */
  private async cursorJson(limits: ExecutionLimits, sink: RowSink, batches: 'document' | 'stream'): Promise<JsonResult> {
    const { values, types } = this.prepared.bound;
    const [firstBatch, nextBatch] = batches === 'stream' ? [STREAM_FIRST_BATCH, STREAM_NEXT_BATCH] : [FIRST_BATCH, NEXT_BATCH];
    const reader = new PortalReader(this.sent.text, values, types, Math.min(limits.maxRows + 1, firstBatch));
    this.stopReaderOnCut = () => (reader.stopped = true);
    this.connection.submit(reader);
    try {
      const fields = await reader.fields();
      const converters = fields.map((f) => converterFor(f.dataTypeID));
      sink.columns(describeColumns(fields));
      let rowCount = 0;
      let bytes = 0;
      let truncatedBy: TruncatedBy | undefined;
      let batch = await reader.next(0);
      for (;;) {
        let rows = withinRowCap(batch.rows, rowCount, limits.maxRows);
        if (rows.length < batch.rows.length) truncatedBy = 'rows';
        if (rows.length > 0) {
          const texts = convertRows(rows, converters).map((row) => JSON.stringify(row));
          let json = Buffer.from(texts.join(','));
          const separator = rowCount > 0 ? 1 : 0;
          if (bytes + json.length + separator > limits.maxBytes) {
            const kept = rowsWithin(texts, limits.maxBytes - bytes - separator);
            json = Buffer.from(texts.slice(0, kept).join(','));
            rows = rows.slice(0, kept);
            truncatedBy = 'bytes';
          }
          if (rows.length > 0) {
            await this.untilCancelled(sink.rows(json, rows.length));
            rowCount += rows.length;
            bytes += json.length + separator;
          }
        }
        truncatedBy ??= batch.done ? this.truncatedByWire : undefined;
        if (truncatedBy || batch.done) break;
        // About BATCH_BYTES of JSON per batch, whatever the row size: memory per run stays a few MB.
        const fitting = Math.floor((BATCH_BYTES * rowCount) / Math.max(bytes, 1));
        batch = await reader.next(Math.min(limits.maxRows + 1 - rowCount, Math.max(MIN_BATCH, Math.min(nextBatch, fitting))));
      }
      await reader.finish();
      return {
        columns: describeColumns(fields),
        rowCount,
        bytes,
        truncated: truncatedBy !== undefined,
        ...(truncatedBy ? { truncatedBy } : {}),
      };
    } finally {
      // Ends the exchange on any path (a cancelled wait leaves the portal suspended, awaiting us).
      await reader.finish().catch(() => undefined);
    }
  }

  /** The columns the statement will return, asked of PostgreSQL before it runs. */
  private async describe(text: string, types: number[]): Promise<FieldDescription[]> {
    const describer = new StatementDescriber(text, types);
    this.stopReaderOnCut = () => (describer.stopped = true);
    this.connection.submit(describer);
    try {
      return await describer.columns();
    } finally {
      await describer.settled.promise;
    }
  }

  /** Waits for `work`, or ends the wait when the run is cancelled (a stalled reader must not hold a cancel). */
  private async untilCancelled(work: void | Promise<void>): Promise<void> {
    if (work) await Promise.race([work, this.cancelled.promise]);
    if (this.cancelReason) throw new Error(`run cancelled (${this.cancelReason})`);
  }

  /**
   * Starts a CSV download. Resolves with the stream once the first data row (or the end) is in, so that an
   * error in the query still becomes a proper error response; `outcome` settles when the stream ends.
   */
  async csv(limits: ExecutionLimits): Promise<{ stream: CsvStream; outcome: Promise<CsvOutcome> }> {
    const copy = await copyText(this.prepared);
    if (copy) this.sent = copy;
    const stream = new CsvStream(() => this.cancel('disconnect'));
    const started = deferred<void>();
    const outcome = copy ? this.copyCsv(copy, limits, stream, started.resolve) : this.cursorCsv(limits, stream, started.resolve);
    outcome.then(
      () => started.resolve(),
      (error: unknown) => started.reject(error),
    );
    outcome.catch(() => undefined);
    await started.promise;
    return { stream, outcome };
  }

  private async copyCsv(sent: SentText, limits: ExecutionLimits, stream: CsvStream, started: () => void): Promise<CsvOutcome> {
    let truncatedBy: TruncatedBy | undefined;
    const reader = new CopyOutReader(sent.text, (chunk) => {
      // Row 1 is the header; the cap counts data rows.
      if (reader.rows - 1 > limits.maxRows) {
        truncatedBy = 'rows';
        reader.stopped = true;
        void this.connection.cancel();
        this.connection.cut();
        return;
      }
      // A full consumer pauses the socket; a gone one does not, so the cancelled COPY drains and ends.
      if (!stream.add(chunk) && !stream.noMoreRows) reader.pause();
      if (reader.rows === 2) started();
    });
    stream.onDemand = () => reader.resume();
    this.onCancel = () => {
      stream.fail();
      reader.resume();
    };
    this.watchWire({ maxBytes: Number.POSITIVE_INFINITY, maxRowBytes: limits.maxRowBytes });
    this.stopReaderOnCut = () => (reader.stopped = true);
    this.connection.submit(reader);
    try {
      await reader.done();
      truncatedBy ??= this.truncatedByWire;
      stream.finish();
      return {
        rowCount: Math.max(0, Math.min(reader.rows - 1, limits.maxRows)),
        truncated: !!truncatedBy,
        truncatedBy,
        bytes: stream.bytes,
      };
    } catch (error) {
      stream.fail();
      throw error;
    } finally {
      await reader.settled.promise;
      this.done();
    }
  }

  private async cursorCsv(limits: ExecutionLimits, stream: CsvStream, started: () => void): Promise<CsvOutcome> {
    const { text } = this.sent;
    const { values, types } = this.prepared.bound;
    const reader = new PortalReader(text, values, types, Math.min(limits.maxRows + 1, FIRST_BATCH));
    this.watchWire({ maxBytes: Number.POSITIVE_INFINITY, maxRowBytes: limits.maxRowBytes });
    this.stopReaderOnCut = () => (reader.stopped = true);
    this.onCancel = () => stream.fail();
    this.connection.submit(reader);
    try {
      const fields = await reader.fields();
      stream.add(Buffer.from(csvLine(fields.map((f) => f.name))));
      let rowCount = 0;
      let truncatedBy: TruncatedBy | undefined;
      let batch = await reader.next(0);
      for (;;) {
        const rows = withinRowCap(batch.rows, rowCount, limits.maxRows);
        if (rows.length < batch.rows.length) truncatedBy = 'rows';
        let chunk = '';
        for (const row of rows) chunk += csvLine(row);
        rowCount += rows.length;
        const more = stream.add(Buffer.from(chunk));
        started();
        truncatedBy ??= batch.done ? this.truncatedByWire : undefined;
        if (truncatedBy || batch.done) break;
        if (!more) await stream.demand();
        if (stream.noMoreRows) throw new Error('the download was abandoned');
        batch = await reader.next(Math.min(limits.maxRows + 1 - rowCount, NEXT_BATCH));
      }
      await reader.finish();
      stream.finish();
      return { rowCount, truncated: !!truncatedBy, truncatedBy, bytes: stream.bytes };
    } catch (error) {
      stream.fail();
      throw error;
    } finally {
      await reader.settled.promise;
      this.done();
    }
  }
}

/** The rows of a batch that fit under the row cap, `before` rows having been taken already. */
function withinRowCap<T>(rows: T[], before: number, maxRows: number): T[] {
  return before + rows.length > maxRows ? rows.slice(0, maxRows - before) : rows;
}

/** How many of the rows (JSON texts) fit in `room` bytes, with a comma between each two. */
function rowsWithin(texts: string[], room: number): number {
  let used = -1;
  for (let i = 0; i < texts.length; i++) {
    used += Buffer.byteLength(texts[i]!) + 1;
    if (used > room) return i;
  }
  return texts.length;
}

function describeColumns(fields: FieldDescription[]): ColumnInfo[] {
  return fields.map((f) => columnInfo(f.name, f.dataTypeID));
}
