// The response body of POST /api/runs, written while the rows are read, in one of two framings:
//   JSON document (default): {"id":…,"statement":…,"columns":[…],"rows":[ batch, batch, … ],
//                            "rowCount":…,"truncated":…,"truncatedBy"?:…,"durationMs":…,"tier":…}
//                            or, when the run fails after rows were sent, …],"error":{code,message,…}}
//   NDJSON (Accept: application/x-ndjson): {"columns":[…]}, then {"rows":[…]} per batch, then
//                            {"done":{…totals}} or {"error":{…}}, one object per line.
// Failures before the body starts are ordinary HTTP errors (the promise rejects). The totals (or the
// error) are written only after the run's closing audit event is committed, so a client that has the
// whole body knows the run is recorded. A batch is handed on only when the socket took the previous
// ones: a client that stops reading stalls the database cursor, and memory stays flat.
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { AppError, errorBody } from '../lib/errors.js';
import type { RowSink } from './executor.js';
import type { JsonRun } from './run-types.js';
import type { ColumnInfo } from './values.js';

export const ROW_STREAM_TYPE = 'application/x-ndjson';

type Totals = Omit<JsonRun, 'rowsJson' | 'columns'>;
type Head = { id: string; statement: string; columns: ColumnInfo[] };
type ErrorBody = ReturnType<typeof errorBody>;

export interface Framing {
  /** The body up to the first row. */
  head(head: Head): string;
  /** One batch of rows (comma-separated JSON arrays, UTF-8) framed; `first` for the first batch of the body. */
  rows(rowsJson: Buffer, first: boolean): Array<string | Buffer>;
  /** The end of a run that completed. */
  totals(totals: Totals): string;
  /** The end of a run that failed after the body started. */
  error(body: ErrorBody): string;
  /** Does the body start with the columns (NDJSON) or with the first batch of rows (JSON document)? */
  startsAtColumns: boolean;
}

const line = (value: unknown) => `${JSON.stringify(value)}\n`;

export const ndjsonFraming: Framing = {
  head: ({ columns }) => line({ columns }),
  rows: (rowsJson) => ['{"rows":[', rowsJson, ']}\n'],
  totals: (totals) => line({ done: totals }),
  error: (body) => line(body),
  startsAtColumns: true,
};

export const jsonDocumentFraming: Framing = {
  head: ({ id, statement, columns }) => `${JSON.stringify({ id, statement, columns }).slice(0, -1)},"rows":[`,
  rows: (rowsJson, first) => (first ? [rowsJson] : [',', rowsJson]),
  totals: ({ rowCount, truncated, truncatedBy, durationMs, tier, cached }) =>
    `]${JSON.stringify({ rowCount, truncated, ...(truncatedBy ? { truncatedBy } : {}), durationMs, tier, ...(cached ? { cached } : {}) }).replace('{', ',')}`,
  error: (body) => `],${JSON.stringify(body).slice(1)}`,
  startsAtColumns: false,
};

export function wantsRowStream(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((type) => type.split(';')[0]!.trim() === ROW_STREAM_TYPE);
}

/**
 * Starts `run` with a sink that writes the body in `framing`, and resolves with the body once it has
 * started (the columns are known for NDJSON, the first rows are in or the run ended for the JSON
 * document); a failure before that rejects, so the route answers it as usual.
 */
export async function streamResult(
  framing: Framing,
  run: (sink: RowSink) => Promise<Totals>,
  log: FastifyBaseLogger,
): Promise<Readable> {
  // Up to 1 MB queued for the socket before the next batch waits: a few batches, whatever the client does.
  const body = new PassThrough({ highWaterMark: 1024 * 1024 });
  let head: Head | undefined;
  let started = false;
  let begin!: () => void;
  const begun = new Promise<void>((resolve) => (begin = resolve));
  const write = (...chunks: Array<string | Buffer>): void | Promise<void> => {
    if (body.destroyed) return;
    if (!started) {
      started = true;
      chunks.unshift(framing.head(head!));
      begin();
    }
    let more = true;
    for (const chunk of chunks) if (chunk.length > 0) more = body.write(chunk);
    if (!more) return drained(body);
  };
  let batches = 0;
  const sink: RowSink = {
    columns(columns, described) {
      head = { id: described?.id ?? '', statement: described?.statement ?? 'select', columns };
      if (framing.startsAtColumns) void write('');
    },
    rows(rowsJson) {
      return write(...framing.rows(rowsJson, batches++ === 0));
    },
  };
  const finished = run(sink);
  await Promise.race([begun, finished]);
  finished.then(
    (totals) => {
      head ??= { id: totals.id, statement: totals.statement, columns: [] };
      void write(framing.totals(totals));
      body.end();
    },
    (error: unknown) => {
      if (!started) return; // the route answers it (the race above rejected)
      if (!(error instanceof AppError)) log.error({ err: error }, 'streamed run failed');
      const answer =
        error instanceof AppError
          ? errorBody(error.code, error.message, error.details)
          : errorBody('internal_error', 'Something went wrong on our side; it was logged.');
      void write(framing.error(answer));
      body.end();
    },
  );
  return body;
}

/** Resolves when the stream wants more, or is gone (a destroyed stream never drains). */
function drained(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
