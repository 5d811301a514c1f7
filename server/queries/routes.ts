// /api/queries: thin routes (schema, the least role, a call into QueriesService). The service decides
// everything else, including the 404-not-403 rule for private queries.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { currentUser, requireRole } from '../auth/guards.js';
import type { QueryContent } from './content.js';
import {
  CreateBody,
  DeleteBody,
  ErrorSchema,
  ForkBody,
  ListQuerystring,
  ListSchema,
  QueryIdParams,
  QuerySchema,
  RestoreBody,
  UpdateBody,
  VersionParams,
  VersionSchema,
} from './schemas.js';
import type { QueriesService } from './service.js';
import { VersionListSchema } from '../versioned/schemas.js';

const errors = { 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 413: ErrorSchema };
const tags = ['queries'];

type IdParams = Static<typeof QueryIdParams>;
type VersionParams = Static<typeof VersionParams>;

export async function queryRoutes(app: FastifyInstance, opts: { queries: QueriesService }) {
  const { queries } = opts;
  // Changes other than creating also start at 'viewer': the service answers 404 for a private query the
  // user cannot see and 403 otherwise, the same for every role (test/queries/permissions.test.ts).
  const viewer = requireRole('viewer');
  const editor = requireRole('editor');

  app.get(
    '/api/queries',
    {
      preHandler: viewer,
      schema: { tags, summary: 'List and search saved queries', querystring: ListQuerystring, response: { 200: ListSchema } },
    },
    async (request) => {
      const query = request.query as ListQuerystring;
      return queries.list(currentUser(request), {
        filter: query.filter ?? 'all',
        search: query.q,
        tag: query.tag,
        archived: query.archived ?? false,
        limit: query.limit ?? 50,
        offset: query.offset ?? 0,
      });
    },
  );

  app.post(
    '/api/queries',
    {
      preHandler: editor,
      schema: { tags, summary: 'Save a new query (version 1)', body: CreateBody, response: { 201: QuerySchema, ...errors } },
    },
    async (request, reply) => {
      const body = request.body as CreateBody;
      const content: QueryContent = {
        name: body.name,
        description: body.description ?? '',
        tags: body.tags ?? [],
        dataSource: body.dataSource,
        sql: body.sql,
        variables: body.variables ?? [],
        chart: body.chart ?? null,
      };
      const created = await queries.create(currentUser(request), content, body.visibility);
      return reply.status(201).header('location', `/api/queries/${created.id}`).send(created);
    },
  );

  app.get(
    '/api/queries/:id',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'A saved query and its current version',
        params: QueryIdParams,
        response: { 200: QuerySchema, 404: ErrorSchema },
      },
    },
    async (request) => queries.get(currentUser(request), (request.params as IdParams).id, request.ip),
  );

  app.put(
    '/api/queries/:id',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'Save a new version (based on baseVersion; 409 if someone saved since) and/or change visibility and lock',
        params: QueryIdParams,
        body: UpdateBody,
        response: { 200: QuerySchema, ...errors },
      },
    },
    async (request) => {
      const { baseVersion, visibility, locked, cacheMaxAgeSeconds, ...content } = request.body as UpdateBody;
      return queries.update(
        currentUser(request),
        (request.params as IdParams).id,
        { baseVersion, visibility, locked, cacheMaxAgeSeconds, content },
        request.ip,
      );
    },
  );

  app.delete(
    '/api/queries/:id',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'Archive a query (owner or admin); with {purge:true}, delete an archived query for good (admin)',
        params: QueryIdParams,
        body: DeleteBody,
        response: { 200: QuerySchema, 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const { id } = request.params as IdParams;
      if ((request.body as Static<typeof DeleteBody>)?.purge) {
        await queries.purge(currentUser(request), id, request.ip);
        return reply.status(204).send();
      }
      return queries.archive(currentUser(request), id, request.ip);
    },
  );

  app.post(
    '/api/queries/:id/unarchive',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'Bring an archived query back (owner or admin)',
        params: QueryIdParams,
        response: { 200: QuerySchema, ...errors },
      },
    },
    async (request) => queries.unarchive(currentUser(request), (request.params as IdParams).id, request.ip),
  );

  app.get(
    '/api/queries/:id/versions',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'Every version of a query, newest first',
        params: QueryIdParams,
        response: { 200: VersionListSchema, 404: ErrorSchema },
      },
    },
    async (request) => ({ versions: await queries.versions(currentUser(request), (request.params as IdParams).id, request.ip) }),
  );

  app.get(
    '/api/queries/:id/versions/:version',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'One version of a query',
        params: VersionParams,
        response: { 200: VersionSchema, 404: ErrorSchema },
      },
    },
    async (request) => {
      const { id, version } = request.params as VersionParams;
      return queries.version(currentUser(request), id, version, request.ip);
    },
  );

  app.post(
    '/api/queries/:id/versions/:version/restore',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: "Save an old version's content as a new version (409 if baseVersion is not current)",
        params: VersionParams,
        body: RestoreBody,
        response: { 200: QuerySchema, ...errors },
      },
    },
    async (request) => {
      const { id, version } = request.params as VersionParams;
      const { baseVersion } = request.body as Static<typeof RestoreBody>;
      return queries.restoreVersion(currentUser(request), id, version, baseVersion, request.ip);
    },
  );

  app.post(
    '/api/queries/:id/fork',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'Copy a query (current or given version) into a new one of your own',
        params: QueryIdParams,
        body: ForkBody,
        response: { 201: QuerySchema, ...errors },
      },
    },
    async (request, reply) => {
      const fork = await queries.fork(
        currentUser(request),
        (request.params as IdParams).id,
        (request.body as Static<typeof ForkBody>) ?? {},
        request.ip,
      );
      return reply.status(201).header('location', `/api/queries/${fork.id}`).send(fork);
    },
  );
}
