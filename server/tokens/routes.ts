// /api/tokens (personal access tokens), POST /api/queries/:id/csv-links and the CSV link itself,
// GET /api/queries/:id/results.csv?key=…. Thin: schemas, the least role, a call into the services.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { currentUser, requireRole } from '../auth/guards.js';
import { disconnectSignal } from '../engine/routes.js';
import { AppError } from '../lib/errors.js';
import { ErrorSchema, QueryIdParams } from '../queries/schemas.js';
import { CSV_LINK_ROUTE } from './route-scopes.js';
import { CreateCsvLinkBody, CreatedCsvLink, CreatedToken, CreateTokenBody, TokenList, TokenSchema } from './schemas.js';
import type { TokensService } from './service.js';

const tags = ['tokens'];
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 429: ErrorSchema };
const sessionOnly = [{ sessionCookie: [] }];

export async function tokenRoutes(app: FastifyInstance, opts: { tokens: TokensService }) {
  const { tokens } = opts;
  const viewer = requireRole('viewer');

  app.get(
    '/api/tokens',
    {
      preHandler: viewer,
      schema: {
        tags,
        security: sessionOnly,
        summary: 'Your API tokens and CSV links (admins: everyone’s, with ?all=true)',
        querystring: Type.Object({ all: Type.Optional(Type.Boolean()) }),
        response: { 200: TokenList, ...errors },
      },
    },
    async (request) => ({
      tokens: await tokens.list(currentUser(request), (request.query as { all?: boolean }).all ?? false),
    }),
  );

  app.post(
    '/api/tokens',
    {
      preHandler: viewer,
      schema: {
        tags,
        security: sessionOnly,
        summary: 'Create a personal access token; the secret is in this answer only',
        body: CreateTokenBody,
        response: { 201: CreatedToken, ...errors },
      },
    },
    async (request, reply) => {
      const created = await tokens.create(currentUser(request), request.body as CreateTokenBody, request.ip);
      return reply.code(201).header('cache-control', 'no-store').send({ token: created.token, info: created.view });
    },
  );

  app.post(
    '/api/tokens/:id/revoke',
    {
      preHandler: viewer,
      schema: {
        tags,
        security: sessionOnly,
        summary: 'Revoke a token or CSV link (your own; admins: anyone’s)',
        params: Type.Object({ id: Type.String({ pattern: '^[0-9]{1,18}$' }) }),
        body: Type.Optional(Type.Object({}, { additionalProperties: false })),
        response: { 200: TokenSchema, ...errors },
      },
    },
    async (request) => tokens.revoke(currentUser(request), (request.params as { id: string }).id, request.ip),
  );

  app.post(
    '/api/queries/:id/csv-links',
    {
      preHandler: viewer,
      schema: {
        tags,
        security: sessionOnly,
        summary: 'Create a CSV link for a saved query and these parameter values (default expiry: 90 days)',
        params: QueryIdParams,
        body: CreateCsvLinkBody,
        response: { 201: CreatedCsvLink, ...errors },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = request.body as CreateCsvLinkBody;
      const created = await tokens.createCsvLink(currentUser(request), id, { ...body, params: body.params ?? {} }, request.ip);
      const url = `${app.config.publicUrl}/api/queries/${id}/results.csv?key=${created.token}`;
      return reply.code(201).header('cache-control', 'no-store').send({ url, key: created.token, info: created.view });
    },
  );

  app.get(
    CSV_LINK_ROUTE,
    {
      preHandler: viewer,
      schema: {
        tags,
        security: [{ csvKey: [] }],
        summary: 'A saved query’s result as CSV, through a CSV link (for IMPORTDATA, Excel “From Web”, curl)',
        params: QueryIdParams,
        querystring: Type.Object({ key: Type.String({ description: 'The CSV link key (phc_…)' }) }),
        produces: ['text/csv'],
        response: { 200: Type.String({ description: 'CSV with a header line' }), ...errors },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const { id } = request.params as { id: string };
      const auth = user.auth;
      // The key is bound to one query: for any other id it opens nothing (and says nothing about it).
      if (auth.method !== 'token' || auth.kind !== 'csv_link' || auth.queryId !== id) {
        throw new AppError(404, 'not_found', `There is no query ${id}, or this link is not for it.`);
      }
      const target = await app.runService.resolveSaved(user, id);
      const run = await app.runService.runCsv(
        { user, clientIp: request.ip, signal: disconnectSignal(reply) },
        target,
        auth.params ?? {},
      );
      run.stream.cutConnection = () => reply.raw.socket?.end(); // see POST /api/runs.csv
      return reply
        .header('cache-control', 'no-store')
        .header('content-disposition', `inline; filename="${run.filename}"`)
        .header('x-porthole-run-id', run.id)
        .type('text/csv; charset=utf-8')
        .send(run.stream);
    },
  );
}
