// /api/dashboards: thin routes (schema, the least role, a call into DashboardsService), the same shape as
// /api/queries. The service decides everything else, including the 404-not-403 rule for private ones.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { currentUser, requireRole } from '../auth/guards.js';
import {
  CreateDashboardBody,
  DashboardIdParams,
  DashboardListSchema,
  DashboardSchema,
  DashboardVersionParams,
  DashboardVersionSchema,
  DeleteDashboardBody,
  ErrorSchema,
  ForkDashboardBody,
  ListDashboardsQuerystring,
  RestoreDashboardBody,
  UpdateDashboardBody,
} from './schemas.js';
import type { DashboardsService } from './service.js';
import { VersionListSchema } from '../versioned/schemas.js';
import { DEFAULT_CACHE_MAX_AGE_SECONDS } from './content.js';

const errors = { 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };
const tags = ['dashboards'];
type IdParams = Static<typeof DashboardIdParams>;
type VersionParams = Static<typeof DashboardVersionParams>;

export async function dashboardRoutes(app: FastifyInstance, opts: { dashboards: DashboardsService }) {
  const { dashboards } = opts;
  // As for queries: changes start at 'viewer' so every role gets the service's 404-or-403 answer.
  const viewer = requireRole('viewer');

  app.get(
    '/api/dashboards',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'List and search dashboards',
        querystring: ListDashboardsQuerystring,
        response: { 200: DashboardListSchema },
      },
    },
    async (request) => {
      const query = request.query as Static<typeof ListDashboardsQuerystring>;
      return dashboards.list(currentUser(request), {
        filter: query.filter ?? 'all',
        search: query.q,
        archived: query.archived ?? false,
        limit: query.limit ?? 50,
        offset: query.offset ?? 0,
      });
    },
  );

  app.post(
    '/api/dashboards',
    {
      preHandler: requireRole('editor'),
      schema: {
        tags,
        summary: 'Save a new dashboard (version 1)',
        body: CreateDashboardBody,
        response: { 201: DashboardSchema, ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof CreateDashboardBody>;
      const created = await dashboards.create(
        currentUser(request),
        {
          name: body.name,
          description: body.description ?? '',
          variables: body.variables ?? [],
          refreshSeconds: body.refreshSeconds ?? null,
          cacheMaxAgeSeconds: body.cacheMaxAgeSeconds ?? DEFAULT_CACHE_MAX_AGE_SECONDS,
          cards: body.cards ?? [],
        },
        body.visibility,
      );
      return reply.status(201).header('location', `/api/dashboards/${created.id}`).send(created);
    },
  );

  app.get(
    '/api/dashboards/:id',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'A dashboard, its current version and its cards as you may see them',
        params: DashboardIdParams,
        response: { 200: DashboardSchema, 404: ErrorSchema },
      },
    },
    async (request) => dashboards.get(currentUser(request), (request.params as IdParams).id),
  );

  app.put(
    '/api/dashboards/:id',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'Save a new version (based on baseVersion; 409 if someone saved since) and/or change visibility and lock',
        params: DashboardIdParams,
        body: UpdateDashboardBody,
        response: { 200: DashboardSchema, ...errors },
      },
    },
    async (request) => {
      const { baseVersion, visibility, locked, ...content } = request.body as Static<typeof UpdateDashboardBody>;
      return dashboards.update(currentUser(request), (request.params as IdParams).id, {
        baseVersion,
        visibility,
        locked,
        content,
      });
    },
  );

  app.delete(
    '/api/dashboards/:id',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'Archive a dashboard (owner or admin); with {purge:true}, delete an archived one for good (admin)',
        params: DashboardIdParams,
        body: DeleteDashboardBody,
        response: { 200: DashboardSchema, 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const { id } = request.params as IdParams;
      if ((request.body as Static<typeof DeleteDashboardBody>)?.purge) {
        await dashboards.purge(currentUser(request), id);
        return reply.status(204).send();
      }
      return dashboards.archive(currentUser(request), id);
    },
  );

  app.post(
    '/api/dashboards/:id/unarchive',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'Bring an archived dashboard back (owner or admin)',
        params: DashboardIdParams,
        response: { 200: DashboardSchema, ...errors },
      },
    },
    async (request) => dashboards.unarchive(currentUser(request), (request.params as IdParams).id),
  );

  app.get(
    '/api/dashboards/:id/versions',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'Every version of a dashboard, newest first',
        params: DashboardIdParams,
        response: { 200: VersionListSchema, 404: ErrorSchema },
      },
    },
    async (request) => ({ versions: await dashboards.versions(currentUser(request), (request.params as IdParams).id) }),
  );

  app.get(
    '/api/dashboards/:id/versions/:version',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'One version of a dashboard',
        params: DashboardVersionParams,
        response: { 200: DashboardVersionSchema, 404: ErrorSchema },
      },
    },
    async (request) => {
      const { id, version } = request.params as VersionParams;
      return dashboards.version(currentUser(request), id, version);
    },
  );

  app.post(
    '/api/dashboards/:id/versions/:version/restore',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: "Save an old version's layout as a new version (409 if baseVersion is not current)",
        params: DashboardVersionParams,
        body: RestoreDashboardBody,
        response: { 200: DashboardSchema, ...errors },
      },
    },
    async (request) => {
      const { id, version } = request.params as VersionParams;
      return dashboards.restoreVersion(
        currentUser(request),
        id,
        version,
        (request.body as Static<typeof RestoreDashboardBody>).baseVersion,
      );
    },
  );

  app.post(
    '/api/dashboards/:id/fork',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'Copy a dashboard (current or given version) into a new one of your own',
        params: DashboardIdParams,
        body: ForkDashboardBody,
        response: { 201: DashboardSchema, ...errors },
      },
    },
    async (request, reply) => {
      const fork = await dashboards.fork(
        currentUser(request),
        (request.params as IdParams).id,
        (request.body as Static<typeof ForkDashboardBody>) ?? {},
      );
      return reply.status(201).header('location', `/api/dashboards/${fork.id}`).send(fork);
    },
  );
}
