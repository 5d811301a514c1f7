// POST /api/runs (JSON), POST /api/runs.csv (streamed), POST /api/runs/:id/cancel, GET /api/runs/active.
// Thin: schemas, the role each route needs, and a call into RunService.
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { currentUser, requireRole } from '../auth/guards.js';
import { BackgroundStarted } from '../background/schemas.js';
import { AppError } from '../lib/errors.js';
import { capText } from './error-text.js';
import { jsonDocumentFraming, ndjsonFraming, ROW_STREAM_TYPE, streamResult, wantsRowStream } from './result-stream.js';
import { RunParams } from './run-params.js';
import type { RunContext, RunService, RunTarget } from './runs.service.js';

const ErrorSchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true }),
});

const RunBody = Type.Object(
  {
    dataSource: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Data source id (free SQL)' })),
    sql: Type.Optional(Type.String({ description: 'The SQL to run (free SQL; editors and admins)' })),
    queryId: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'Run a saved query: its stored SQL runs' })),
    queryVersion: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'With queryId: run this version (default: current)' }),
    ),
    params: Type.Optional(RunParams),
    timeZone: Type.Optional(
      Type.String({
        maxLength: 64,
        description:
          'IANA time zone for relative times in date and timestamp variables (today-29d, tomorrow, this_month); default UTC',
      }),
    ),
    runId: Type.Optional(Type.String({ format: 'uuid', description: 'Chosen by the client so it can cancel the run' })),
    background: Type.Optional(
      Type.Boolean({
        description:
          'Run in the background: answers 202 {id, status} at once; poll GET /api/runs/:id, fetch GET /api/runs/:id/result',
      }),
    ),
    dashboardId: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,18}$',
        description:
          'With queryId: a card of this dashboard (you must be able to read it; its cache max age applies; the audit log records it)',
      }),
    ),
    refresh: Type.Optional(Type.Boolean({ description: 'With queryId: run afresh instead of answering from the result cache' })),
  },
  { additionalProperties: false },
);
type RunBody = Static<typeof RunBody>;

const Column = Type.Object({
  name: Type.String(),
  type: Type.Union(['number', 'string', 'time', 'date', 'boolean', 'json', 'binary'].map((k) => Type.Literal(k))),
  dbType: Type.Optional(Type.String()),
});

const RunResult = Type.Object({
  id: Type.String(),
  statement: Type.Union([Type.Literal('select'), Type.Literal('explain'), Type.Literal('show')]),
  columns: Type.Array(Column),
  rows: Type.Array(Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]))),
  rowCount: Type.Integer(),
  truncated: Type.Boolean(),
  truncatedBy: Type.Optional(Type.String()),
  durationMs: Type.Integer(),
  /** The access tier the run connected as (issue #13). */
  tier: Type.String(),
  error: Type.Optional(
    Type.Object(
      { code: Type.String(), message: Type.String() },
      { additionalProperties: true, description: 'In place of the totals' },
    ),
  ),
  cached: Type.Optional(
    Type.Object(
      { runId: Type.String(), computedAt: Type.String({ format: 'date-time' }) },
      { description: 'Answered from the result cache: the run that computed it, and when' },
    ),
  ),
});

const RUN_RESULT_DESCRIPTION = [
  'The body is streamed while the query runs, in this field order: `id`, `statement`, `columns`, `rows`',
  '(written batch by batch), then the totals `rowCount`, `truncated`, `truncatedBy` (when truncated) and',
  "`durationMs`, `tier` (the access tier the run connected as). Rows stop at the row cap (`MAX_ROWS` or the source's `maxRows`) or when the rows' JSON as",
  'sent reaches `MAX_RESULT_BYTES` (default 64 MB), with `truncated: true`. Errors before the first row are',
  'ordinary HTTP errors; if the query fails after rows were sent, the document ends with an `error` member',
  '(`{code, message, ...}`) in place of the totals, and the run is recorded as failed. When the body is',
  "complete, the run's closing audit event is already committed. With `Accept: application/x-ndjson` the same",
  'run comes as lines: `{"columns":[...]}`, `{"rows":[...]}` per batch, then `{"done":{...}}` or `{"error":{...}}`.',
].join(' ');

const ActiveRunSchema = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  userEmail: Type.Union([Type.String(), Type.Null()]),
  dataSource: Type.String(),
  queryId: Type.Union([Type.String(), Type.Null()]),
  queryVersion: Type.Union([Type.Integer(), Type.Null()]),
  sql: Type.String(),
  format: Type.String(),
  taskId: Type.String(),
  backendPid: Type.Union([Type.Integer(), Type.Null()]),
  startedAt: Type.String({ format: 'date-time' }),
  cancelRequestedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const errors = { 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 413: ErrorSchema, 429: ErrorSchema };

async function targetOf(runs: RunService, request: FastifyRequest, body: RunBody): Promise<RunTarget> {
  if (body.queryId !== undefined) {
    // A saved query runs its stored SQL (Blazer #416): SQL sent beside a query id is refused, not merged.
    if (body.sql !== undefined || body.dataSource !== undefined) {
      throw new AppError(400, 'invalid_request', 'Send either queryId (a saved query) or dataSource and sql, not both.');
    }
    return runs.resolveSaved(currentUser(request), body.queryId, body.queryVersion, request.ip);
  }
  if (body.queryVersion !== undefined) throw new AppError(400, 'invalid_request', 'queryVersion goes with queryId.');
  if (body.sql === undefined || body.dataSource === undefined) {
    throw new AppError(400, 'invalid_request', 'Send dataSource and sql (or queryId for a saved query).');
  }
  return { kind: 'sql', dataSource: body.dataSource, sql: body.sql };
}

/**
 * The run's target, or an audited refusal (THREATS.md 50): a body the schema refused (attachValidation
 * hands it here) or one naming its target wrongly is recorded like any refused run, then answered 400.
 */
async function checkedTarget(runs: RunService, request: FastifyRequest, reply: FastifyReply, format: 'json' | 'csv') {
  const raw = request.body;
  const body = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  if (request.validationError) {
    const error = new AppError(400, 'invalid_request', capText(request.validationError.message));
    return runs.refuseRequest(context(request, reply), body, format, error);
  }
  return targetOf(runs, request, body as RunBody).catch((error: unknown) =>
    error instanceof AppError && error.statusCode === 400
      ? runs.refuseRequest(context(request, reply), body, format, error)
      : Promise.reject(error),
  );
}

/** Cancels the run when the client disconnects before the response is complete. */
export function disconnectSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

function context(request: FastifyRequest, reply: FastifyReply, body?: RunBody): RunContext {
  if ((body?.dashboardId !== undefined || body?.refresh !== undefined) && body.queryId === undefined)
    throw new AppError(400, 'invalid_request', 'dashboardId and refresh go with queryId.');
  return {
    user: currentUser(request),
    clientIp: request.ip,
    signal: disconnectSignal(reply),
    timeZone: body?.timeZone,
    ...(body?.queryId && body.dashboardId !== undefined ? { dashboardId: body.dashboardId } : {}),
    ...(body?.queryId ? { cache: { refresh: body.refresh } } : {}),
  };
}

export async function runRoutes(app: FastifyInstance, opts: { runs: RunService }) {
  const { runs } = opts;

  // The JSON body must be valid UTF-8 (THREATS.md 23): the default parser would silently replace bad
  // bytes with U+FFFD and run something other than what was sent.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    if (!isUtf8(body as Buffer)) {
      done(new AppError(400, 'invalid_encoding', 'The request body is not valid UTF-8.'), undefined);
      return;
    }
    parseJson(request, (body as Buffer).toString('utf8'), done);
  });

  // A 429 (per-user or per-source cap) tells clients when to try again.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 429 && !reply.hasHeader('retry-after')) reply.header('retry-after', '2');
    return payload;
  });

  app.post(
    '/api/runs',
    {
      preHandler: requireRole('viewer'),
      attachValidation: true,
      schema: {
        summary: 'Run a query and return its rows as JSON (or start it in the background)',
        description: RUN_RESULT_DESCRIPTION,
        body: RunBody,
        response: { 200: RunResult, 202: BackgroundStarted, ...errors },
      },
    },
    async (request, reply) => {
      const target = await checkedTarget(runs, request, reply, 'json');
      const body = request.body as RunBody;
      if (body.background) {
        const started = await app.backgroundRuns.start(currentUser(request), target, body.params ?? {}, body.runId, request.ip, {
          timeZone: body.timeZone,
        });
        return reply.code(202).header('location', `/api/runs/${started.id}`).send(started);
      }
      const ndjson = wantsRowStream(request.headers.accept);
      const stream = await streamResult(
        ndjson ? ndjsonFraming : jsonDocumentFraming,
        (sink) =>
          runs.runJsonStreaming(
            context(request, reply, body),
            target,
            body.params ?? {},
            sink,
            body.runId,
            ndjson ? 'stream' : 'document',
          ),
        request.log,
      );
      return reply
        .header('cache-control', 'no-store')
        .type(ndjson ? `${ROW_STREAM_TYPE}; charset=utf-8` : 'application/json; charset=utf-8')
        .send(stream);
    },
  );

  app.post(
    '/api/runs.csv',
    {
      preHandler: requireRole('viewer'),
      attachValidation: true,
      schema: {
        summary: 'Run a query and stream every row (up to MAX_CSV_ROWS) as CSV',
        body: RunBody,
        produces: ['text/csv'],
        response: { 200: Type.String({ description: 'CSV with a header line' }), ...errors },
      },
    },
    async (request, reply) => {
      const target = await checkedTarget(runs, request, reply, 'csv');
      const body = request.body as RunBody;
      if (body.background) {
        throw new AppError(
          400,
          'invalid_request',
          'Start background runs with POST /api/runs; fetch their CSV from /api/runs/:id/result.',
        );
      }
      // A card's CSV download names its dashboard too (checked like the card's run).
      const run = await runs.runCsv(context(request, reply, body), target, body.params ?? {}, body.runId);
      // A run that fails after rows went out ends the body with its error line and then the connection,
      // without the chunked body's last chunk: the download is incomplete for any client.
      run.stream.cutConnection = () => reply.raw.socket?.end();
      return (
        reply
          .header('cache-control', 'no-store')
          .header('content-disposition', `attachment; filename="${run.filename}"`)
          .header('x-porthole-run-id', run.id)
          // Marks a download made under a tier that reads sensitive columns (the filename says it too).
          .header('x-porthole-tier', run.tier)
          .header('x-porthole-sensitive', run.sensitive ? 'true' : 'false')
          .type('text/csv; charset=utf-8')
          .send(run.stream)
      );
    },
  );

  app.get(
    '/api/queries/:id/tier',
    {
      preHandler: requireRole('viewer'),
      schema: {
        summary: 'The access tier a saved query needs (the lowest whose role may read what it reads) and yours',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: {
          200: Type.Object({
            needed: Type.Union([
              Type.Object({ tier: Type.Union([Type.String(), Type.Null()]), groups: Type.Array(Type.String()) }),
              Type.Null(),
            ]),
            yours: Type.String(),
          }),
          ...errors,
        },
      },
    },
    async (request) => runs.tierNeeded(currentUser(request), (request.params as { id: string }).id),
  );

  app.post(
    '/api/runs/:id/cancel',
    {
      preHandler: requireRole('viewer'),
      schema: {
        summary: 'Cancel a running query (its owner, or an admin)',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Optional(Type.Object({}, { additionalProperties: false })),
        response: { 200: Type.Object({ id: Type.String(), cancelled: Type.Literal(true) }), 404: ErrorSchema },
      },
    },
    async (request) => runs.cancel(currentUser(request), (request.params as { id: string }).id),
  );

  app.get(
    '/api/runs/active',
    {
      preHandler: requireRole('admin'),
      schema: {
        summary: 'Queries running now, on every Porthole task',
        response: { 200: Type.Object({ runs: Type.Array(ActiveRunSchema) }) },
      },
    },
    async () => {
      const active = await runs.active();
      return {
        runs: active.map((run) => ({
          ...run,
          startedAt: run.startedAt.toISOString(),
          cancelRequestedAt: run.cancelRequestedAt?.toISOString() ?? null,
        })),
      };
    },
  );
}
