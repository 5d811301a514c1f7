// A run whose rows arrive while the query is still running: POST /api/runs with Accept:
// application/x-ndjson. Lines: {"columns":[...]}, {"rows":[...]} per batch, then {"done":{...}} or
// {"error":{...}} (see server/engine/row-stream.ts).
import { apiError, apiResponse } from '../../../lib/api';
import type { ResultColumn, ResultRow, RunResult } from '../../../lib/grid/result';

export type RunTotals = Omit<RunResult, 'columns' | 'rows'>;

export interface RowListener {
  columns(columns: ResultColumn[]): void;
  rows(rows: ResultRow[]): void;
}

type Line = { columns?: ResultColumn[]; rows?: ResultRow[]; done?: RunTotals; error?: unknown };

export async function streamRun(body: unknown, signal: AbortSignal, listener: RowListener): Promise<RunTotals> {
  const response = await apiResponse('/api/runs', { method: 'POST', body, signal, accept: 'application/x-ndjson' });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffered += value;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, newline)) as Line;
      buffered = buffered.slice(newline + 1);
      if (line.columns) listener.columns(line.columns);
      else if (line.rows) listener.rows(line.rows);
      else if (line.done) return line.done;
      else if (line.error) throw apiError(200, 'OK', line);
    }
    if (done)
      throw apiError(502, 'Bad Gateway', {
        error: { code: 'run_interrupted', message: 'The connection ended before the run finished.' },
      });
  }
}
