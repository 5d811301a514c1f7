// POST /api/runs with `Accept: application/x-ndjson`: the rows reach the page while the query still runs.
// Errors before the columns are known are ordinary HTTP errors; after that the body is one JSON object per
// line: {"columns":[...]}, then {"rows":[...]} per batch, then {"done":{...totals}} or {"error":{...}}.
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { AppError, errorBody } from '../lib/errors.js';
import type { RowSink } from './executor.js';
import type { JsonRun } from './run-types.js';

export const ROW_STREAM_TYPE = 'application/x-ndjson';

type Totals = Omit<JsonRun, 'rowsJson' | 'columns'>;

export function wantsRowStream(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((type) => type.split(';')[0]!.trim() === ROW_STREAM_TYPE);
}

/**
 * Starts `run` with a sink that writes lines, and resolves with the stream once the columns are known; a
 * failure before that rejects (so the route answers it as usual).
 */
export async function streamRows(run: (sink: RowSink) => Promise<Totals>, log: FastifyBaseLogger): Promise<Readable> {
  const stream = new PassThrough();
  let columnsKnown!: () => void;
  const begun = new Promise<void>((resolve) => (columnsKnown = resolve));
  const line = (value: unknown) => `${JSON.stringify(value)}\n`;
  const sink: RowSink = {
    columns(columns) {
      stream.write(line({ columns }));
      columnsKnown();
    },
    async rows(rowsJson) {
      if (!stream.write(`{"rows":[${rowsJson}]}\n`)) await once(stream, 'drain');
    },
  };
  const finished = run(sink);
  await Promise.race([begun, finished]);
  finished.then(
    (totals) => stream.end(line({ done: totals })),
    (error: unknown) => {
      if (!(error instanceof AppError)) log.error({ err: error }, 'streamed run failed');
      const body =
        error instanceof AppError
          ? errorBody(error.code, error.message, error.details)
          : errorBody('internal_error', 'Something went wrong on our side; it was logged.');
      stream.end(line(body));
    },
  );
  return stream;
}
