// The CSV body of a download: rows gathered into ~64 KB chunks, backpressure down to the producer, and
// the last chunk held back until the run's closing audit events are committed. A run that fails after the
// body started ends it with one line holding the error answer, and the connection is cut.
import { Readable } from 'node:stream';
import { AppError, errorBody } from '../lib/errors.js';

const CSV_CHUNK_BYTES = 64 * 1024;
/** How long the error line may wait for a client that stopped reading before the connection is cut anyway. */
const ERROR_LINE_GRACE_MS = 5_000;

/**
 * The CSV body: rows are gathered into ~64 KB chunks before they are pushed, and a full buffer asks the
 * producer to pause until the HTTP response drains. Destroyed early (the client went away) -> onAbandon.
 * The last chunk and the end are held back until release(): the run's closing audit events are committed
 * before the client has the whole file (issue #11).
 */
export class CsvStream extends Readable {
  /** Bytes of CSV added (the held-back last chunk included). */
  bytes = 0;
  onDemand?: () => void;
  /**
   * Ends the connection without completing the body (set by the route; the HTTP response's socket). Until
   * it is set, a failed download is cut by destroying the stream.
   */
  cutConnection?: () => void;
  // pg's parser may reuse the memory behind a message once it returns, so bytes are copied in at once.
  private buffer = Buffer.allocUnsafe(CSV_CHUNK_BYTES);
  private filled = 0;
  private complete = false;
  private ended = false;
  /** Bytes were handed on: the response has (or is about to have) its 200 and headers out. */
  private sentAny = false;
  private waiting?: () => void;

  constructor(private readonly onAbandon: () => void) {
    super({ highWaterMark: 4 * CSV_CHUNK_BYTES });
    // A failure before the response took the stream must not surface as an unhandled 'error' event; once
    // it is piped, the HTTP layer sees the error too and aborts the response.
    this.on('error', () => undefined);
  }

  /** Adds bytes; false means the consumer is full (or gone) and the producer should wait for demand. */
  add(chunk: Buffer): boolean {
    if (this.ended || this.complete) return false;
    this.bytes += chunk.length;
    if (this.filled + chunk.length <= this.buffer.length) {
      chunk.copy(this.buffer, this.filled);
      this.filled += chunk.length;
      return this.filled < this.buffer.length || this.flush();
    }
    let more = this.flush();
    if (chunk.length >= this.buffer.length) {
      this.sentAny = true;
      more = this.push(Buffer.from(chunk)) && more;
    } else {
      chunk.copy(this.buffer, 0);
      this.filled = chunk.length;
    }
    return more;
  }

  private flush(): boolean {
    if (this.filled === 0) return true;
    const chunk = this.buffer.subarray(0, this.filled);
    this.buffer = Buffer.allocUnsafe(CSV_CHUNK_BYTES);
    this.filled = 0;
    this.sentAny = true;
    return this.push(chunk);
  }

  /** No more rows are taken: every row is in, the run failed, or the consumer is gone. */
  get noMoreRows(): boolean {
    return this.complete || this.ended || this.destroyed;
  }

  /** Resolves when the consumer wants more, or at once if no more rows are taken. */
  demand(): Promise<void> {
    if (this.noMoreRows) return Promise.resolve();
    return new Promise((resolve) => (this.waiting = resolve));
  }

  override _read(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
    this.onDemand?.();
  }

  /** Every row is in; the buffered rest waits for release(). */
  finish(): void {
    this.complete = true;
  }

  /** Sends the held-back rest and ends the body. */
  release(): void {
    if (this.ended || this.destroyed) return;
    this.flush();
    this.ended = true;
    this.push(null);
  }

  /**
   * No more rows: the query failed or was cancelled. The body ends with endWithError() once the run's end
   * is recorded; a producer waiting for demand is let go now.
   */
  fail(): void {
    this.complete = true;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  /**
   * Ends the body of a run that failed (its end is recorded by now). Before any byte went out, the stream
   * errors and the route answers with an ordinary HTTP error. After, the rows sent are followed by one
   * line with the error answer, {"error":{"code":…,"message":…}} (never a row: a field with quotes is
   * quoted, its quotes doubled), and the connection is cut before the chunked body's end, so no client
   * takes the file for complete.
   */
  endWithError(error: unknown): void {
    if (this.ended || this.destroyed) return;
    this.ended = true;
    const failure = error instanceof Error ? error : new Error(String(error));
    if (!this.sentAny) {
      this.destroy(failure);
      return;
    }
    const answer =
      error instanceof AppError
        ? errorBody(error.code, error.message, error.details)
        : errorBody('internal_error', 'Something went wrong on our side; it was logged.');
    let cut = false;
    const cutOnce = () => {
      if (cut) return;
      cut = true;
      this.off('data', whenSent);
      clearTimeout(stalled);
      if (this.cutConnection) this.cutConnection();
      else this.destroy(failure);
    };
    // The line is on its way once nothing of ours waits in the buffer ('data' hands each chunk to the
    // socket, synchronously when the consumer is reading).
    const whenSent = () => {
      if (this.readableLength === 0) cutOnce();
    };
    const stalled = setTimeout(() => {
      cut = true;
      this.off('data', whenSent);
      this.destroy(failure);
    }, ERROR_LINE_GRACE_MS);
    stalled.unref();
    this.flush();
    this.push(Buffer.from(`${JSON.stringify(answer)}\n`));
    if (this.readableLength === 0) cutOnce();
    else this.on('data', whenSent);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.ended) {
      this.ended = true;
      this.onAbandon();
    }
    this.waiting?.();
    this.waiting = undefined;
    callback(error);
  }
}
