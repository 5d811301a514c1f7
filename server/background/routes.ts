// GET /api/runs/background (the user's recent ones), GET /api/runs/:id (status), GET /api/runs/:id/result
// (JSON, NDJSON or CSV by Accept). Starting one is POST /api/runs with "background": true (engine/routes.ts).
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { currentUser, requireRole } from '../auth/guards.js';
import { ROW_STREAM_TYPE } from '../engine/result-stream.js';
import { csvLine } from '../engine/values.js';
import { ErrorSchema } from '../queries/schemas.js';
import { BackgroundRunList, BackgroundRunSchema, RunIdParams } from './schemas.js';
import type { BackgroundRuns } from './service.js';

const tags = ['runs'];
const errors = { 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 410: ErrorSchema };

type Format = 'json' | 'ndjson' | 'csv';

/** The first of the formats we serve that the Accept header names; JSON when it names none. */
export function resultFormat(accept: string | undefined): Format {
  for (const part of (accept ?? '').split(',')) {
    const type = part.split(';')[0]!.trim().toLowerCase();
    if (type === 'text/csv') return 'csv';
    if (type === ROW_STREAM_TYPE) return 'ndjson';
    if (type === 'application/json') return 'json';
  }
  return 'json';
}

function csvValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export async function backgroundRunRoutes(app: FastifyInstance, opts: { background: BackgroundRuns }) {
  const { background } = opts;
  const viewer = requireRole('viewer');

  app.get(
    '/api/runs/background',
    {
      preHandler: viewer,
      schema: { tags, summary: 'Your recent background runs, newest first', response: { 200: BackgroundRunList } },
    },
    async (request) => ({ runs: await background.list(currentUser(request)) }),
  );

  app.get(
    '/api/runs/:id',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'A background run’s status, row count and timing (its owner and admins)',
        params: RunIdParams,
        response: { 200: BackgroundRunSchema, ...errors },
      },
    },
    async (request) => background.status(currentUser(request), (request.params as { id: string }).id),
  );

  app.get(
    '/api/runs/:id/result',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary:
          'A finished background run’s result: JSON (default), NDJSON (Accept: application/x-ndjson) or CSV (Accept: text/csv)',
        params: RunIdParams,
        querystring: Type.Object({
          format: Type.Optional(
            Type.Union([Type.Literal('json'), Type.Literal('ndjson'), Type.Literal('csv')], {
              description: 'Overrides Accept (for a plain download link)',
            }),
          ),
        }),
        produces: ['application/json', ROW_STREAM_TYPE, 'text/csv'],
        response: {
          200: Type.Unknown({ description: 'The rows, in the format the Accept header asked for' }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const format = (request.query as { format?: Format }).format ?? resultFormat(request.headers.accept);
      const result = await background.result(currentUser(request), id, format, request.ip);
      const totals = { id, rowCount: result.rowCount, truncated: result.truncated, durationMs: result.run.durationMs };
      reply.header('cache-control', 'no-store').header('x-porthole-run-id', id);
      if (format === 'csv') {
        const rows = JSON.parse(`[${result.rowsJson.toString('utf8')}]`) as unknown[][];
        let body = csvLine(result.columns.map((column) => column.name));
        for (const row of rows) body += csvLine(row.map(csvValue));
        const filename = `${result.queryId ? `query-${result.queryId}` : result.dataSource}-${id.slice(0, 8)}.csv`;
        return reply
          .header('content-disposition', `attachment; filename="${filename}"`)
          .type('text/csv; charset=utf-8')
          .send(body);
      }
      if (format === 'ndjson') {
        const lines = Buffer.concat([
          Buffer.from(`${JSON.stringify({ columns: result.columns })}\n{"rows":[`),
          result.rowsJson,
          Buffer.from(`]}\n${JSON.stringify({ done: totals })}\n`),
        ]);
        return reply.type(`${ROW_STREAM_TYPE}; charset=utf-8`).send(lines);
      }
      const head = JSON.stringify({ id, columns: result.columns });
      const document = Buffer.concat([
        Buffer.from(`${head.slice(0, -1)},"rows":[`),
        result.rowsJson,
        Buffer.from(`],${JSON.stringify(totals).slice(1)}`),
      ]);
      return reply.type('application/json; charset=utf-8').send(document);
    },
  );
}
