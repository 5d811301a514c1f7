// The CSV body of a download: rows gathered into ~64 KB chunks, backpressure down to the producer, and
// the last chunk held back until the run's closing audit events are committed.
import { Readable } from 'node:stream';

const CSV_CHUNK_BYTES = 64 * 1024;

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
  // pg's parser may reuse the memory behind a message once it returns, so bytes are copied in at once.
  private buffer = Buffer.allocUnsafe(CSV_CHUNK_BYTES);
  private filled = 0;
  private complete = false;
  private ended = false;
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
    return this.push(chunk);
  }

  /** Resolves when the consumer wants more, or at once if it is gone. */
  demand(): Promise<void> {
    if (this.destroyed) return Promise.resolve();
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

  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.destroy(error instanceof Error ? error : new Error(String(error)));
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
