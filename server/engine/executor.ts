// Executes one prepared statement on one RunConnection and shapes the result: a JSON body capped by rows
// and bytes, or a CSV stream (COPY when the statement allows it, the cursor otherwise) capped by rows.
// Memory stays flat: rows are fetched in batches, CSV bytes flow with backpressure down to the socket,
// and a WireWatch stops any single row or result that would not fit before pg buffers it.
import { CsvStream } from './csv-stream.js';
import { jsonRowsText } from './json-rows.js';
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
import { copyText, cursorText, type PreparedStatement, type SentText } from './statement.js';
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
  /** Resolves when the rows are on their way and the next batch may be read (backpressure). */
  rows(rowsJson: string, count: number): void | Promise<void>;
}

/** A sink that keeps the whole result in memory, for callers that want it whole. */
export class RowCollector implements RowSink {
  described: ColumnInfo[] = [];
  private readonly parts: string[] = [];

  columns(columns: ColumnInfo[]): void {
    this.described = columns;
  }

  rows(rowsJson: string): void {
    this.parts.push(rowsJson);
  }

  /** The rows as JSON array elements, comma-separated, ready to be placed inside [ ]. */
  get rowsJson(): string {
    return this.parts.join(',');
  }
}

/** How a JSON result's rows were formatted: by PostgreSQL (json-rows.ts) or by the converters (values.ts). */
export type JsonFormatting = 'database' | 'converters';

export interface JsonOptions {
  /** Small first batches for a page that shows rows as they come (NDJSON), or larger ones (default). */
  batches?: 'document' | 'stream';
  /**
   * 'converters' (default) or 'database' (json-rows.ts, where the wrap applies). Both give the same bytes
   * (test/engine/json-formatting.test.ts); `npm run bench -- engine` measured PostgreSQL's to_json per
   * value about three times slower than the converters for 1M rows x 8 mixed columns, so it is not the
   * default.
   */
  formatting?: JsonFormatting;
}

type TextRow = Array<string | null>;

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
   * Reads a JSON result into `sink` batch by batch. The next batch is fetched only once the sink has taken
   * the last one, so a reader that stops reading stalls the cursor instead of growing memory. The byte cap
   * counts the rows as they go out (JSON text, escapes included).
   */
  async json(limits: ExecutionLimits, sink: RowSink, options: JsonOptions = {}): Promise<JsonResult> {
    const batches = options.batches ?? 'document';
    const { values, types } = this.prepared.bound;
    const [firstBatch, nextBatch] = batches === 'stream' ? [STREAM_FIRST_BATCH, STREAM_NEXT_BATCH] : [FIRST_BATCH, NEXT_BATCH];
    // The wire guard bounds memory between two batches; the cap itself is on what is sent (below). Wire
    // bytes of a row are at most ~2.5 times its JSON (tiny integers, empty strings), hence the factor.
    this.watchWire({ maxBytes: limits.maxBytes * WIRE_BYTES_PER_JSON_BYTE, maxRowBytes: limits.maxRowBytes });
    try {
      const fields = await this.describe(this.sent.text, types);
      const wrapped = options.formatting === 'database' ? await jsonRowsText(this.prepared, fields) : undefined;
      if (wrapped) this.sent = wrapped;
      this.formatting = wrapped ? 'database' : 'converters';
      const reader = new PortalReader(this.sent.text, values, types, Math.min(limits.maxRows + 1, firstBatch));
      this.stopReaderOnCut = () => (reader.stopped = true);
      this.connection.submit(reader);
      try {
        await reader.fields();
        const converters = fields.map((f) => converterFor(f.dataTypeID));
        const encode = wrapped
          ? (rows: TextRow[]) => rows.map((row) => row[0]!)
          : (rows: TextRow[]) => convertRows(rows, converters).map((row) => JSON.stringify(row));
        sink.columns(describeColumns(fields));
        let rowCount = 0;
        let bytes = 0;
        let truncatedBy: TruncatedBy | undefined;
        let batch = await reader.next(0);
        for (;;) {
          let rows = withinRowCap(batch.rows, rowCount, limits.maxRows);
          if (rows.length < batch.rows.length) truncatedBy = 'rows';
          if (rows.length > 0) {
            const texts = encode(rows);
            let json = texts.join(',');
            let size = Buffer.byteLength(json) + (rowCount > 0 ? 1 : 0);
            if (bytes + size > limits.maxBytes) {
              const kept = rowsWithin(texts, limits.maxBytes - bytes - (rowCount > 0 ? 1 : 0));
              json = texts.slice(0, kept).join(',');
              size = kept > 0 ? Buffer.byteLength(json) + (rowCount > 0 ? 1 : 0) : 0;
              rows = rows.slice(0, kept);
              truncatedBy = 'bytes';
            }
            if (rows.length > 0) {
              await this.untilCancelled(sink.rows(json, rows.length));
              rowCount += rows.length;
              bytes += size;
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
    } finally {
      this.done();
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
