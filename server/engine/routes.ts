// POST /api/runs (JSON), POST /api/runs.csv (streamed), POST /api/runs/:id/cancel, GET /api/runs/active.
// Thin: schemas, the role each route needs, and a call into RunService.
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { currentUser, requireRole } from '../auth/guards.js';
import { AppError } from '../lib/errors.js';
import { capText } from './error-text.js';
import { ROW_STREAM_TYPE, streamRows, wantsRowStream } from './row-stream.js';
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
    runId: Type.Optional(Type.String({ format: 'uuid', description: 'Chosen by the client so it can cancel the run' })),
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
});

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
function disconnectSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

function context(request: FastifyRequest, reply: FastifyReply): RunContext {
  return { user: currentUser(request), clientIp: request.ip, signal: disconnectSignal(reply) };
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
      schema: { summary: 'Run a query and return its rows as JSON', body: RunBody, response: { 200: RunResult, ...errors } },
    },
    async (request, reply) => {
      const target = await checkedTarget(runs, request, reply, 'json');
      const body = request.body as RunBody;
      if (wantsRowStream(request.headers.accept)) {
        const stream = await streamRows(
          (sink) => runs.runJsonStreaming(context(request, reply), target, body.params ?? {}, sink, body.runId),
          request.log,
        );
        return reply.header('cache-control', 'no-store').type(`${ROW_STREAM_TYPE}; charset=utf-8`).send(stream);
      }
      const run = await runs.runJson(context(request, reply), target, body.params ?? {}, body.runId);
      const head = JSON.stringify({ id: run.id, statement: run.statement, columns: run.columns });
      const tail = JSON.stringify({
        rowCount: run.rowCount,
        truncated: run.truncated,
        ...(run.truncatedBy ? { truncatedBy: run.truncatedBy } : {}),
        durationMs: run.durationMs,
      });
      // The rows are serialised once, by the executor; this only frames them.
      return reply
        .header('cache-control', 'no-store')
        .type('application/json; charset=utf-8')
        .send(`${head.slice(0, -1)},"rows":[${run.rowsJson}],${tail.slice(1)}`);
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
      const run = await runs.runCsv(context(request, reply), target, body.params ?? {}, body.runId);
      return reply
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="${run.filename}"`)
        .header('x-porthole-run-id', run.id)
        .type('text/csv; charset=utf-8')
        .send(run.stream);
    },
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
