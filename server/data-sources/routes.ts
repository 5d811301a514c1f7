// GET /api/data-sources and GET /api/data-sources/:id/schema. Thin: schemas, roles, a service call.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { currentUser, requireRole } from '../auth/guards.js';
import type { DataSourceService } from './service.js';

const ErrorSchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true }),
});

const DataSourceSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal('ok'), Type.Literal('refused'), Type.Literal('unreachable'), Type.Literal('unchecked')]),
  problems: Type.Array(Type.String()),
  warnings: Type.Array(Type.String()),
  timeoutMs: Type.Integer(),
  maxRows: Type.Integer(),
  maxCsvRows: Type.Integer(),
  /** The access tier your runs on this source use (issue #13), and every tier lowest first. */
  tier: Type.String(),
  tiers: Type.Array(Type.Object({ name: Type.String(), groups: Type.Array(Type.String()) })),
});

const SchemaSchema = Type.Object({
  schemas: Type.Array(
    Type.Object({
      name: Type.String(),
      relations: Type.Array(
        Type.Object({
          name: Type.String(),
          kind: Type.String(),
          columns: Type.Array(
            Type.Object({
              name: Type.String(),
              type: Type.String(),
              nullable: Type.Boolean(),
              /** Your tier cannot read it; the lowest tier that can (null: none) and the groups that give it. */
              restricted: Type.Optional(
                Type.Object({ tier: Type.Union([Type.String(), Type.Null()]), groups: Type.Array(Type.String()) }),
              ),
            }),
          ),
        }),
      ),
    }),
  ),
  readAt: Type.String({ format: 'date-time' }),
  truncated: Type.Boolean(),
});

export async function dataSourceRoutes(app: FastifyInstance, opts: { dataSources: DataSourceService }) {
  const { dataSources } = opts;

  app.get(
    '/api/data-sources',
    {
      preHandler: requireRole('viewer'),
      schema: {
        summary: 'The data sources you may use',
        response: { 200: Type.Object({ dataSources: Type.Array(DataSourceSchema) }) },
      },
    },
    async (request) => ({ dataSources: dataSources.list(currentUser(request)) }),
  );

  app.get(
    '/api/data-sources/:id/schema',
    {
      preHandler: requireRole('editor'),
      schema: {
        summary: "A data source's schemas, tables, views and columns (cached; ?refresh=true reads them again)",
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        querystring: Type.Object({ refresh: Type.Optional(Type.Boolean()) }),
        response: { 200: SchemaSchema, 404: ErrorSchema, 503: ErrorSchema },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { refresh } = request.query as { refresh?: boolean };
      return dataSources.schema(currentUser(request), id, refresh === true);
    },
  );
}
