// /api/checks and /api/alert-destinations: thin routes (schema, the least role, a call into a service).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { currentUser, requireRole } from '../auth/guards.js';
import { AppError } from '../lib/errors.js';
import type { DestinationsService } from './destinations.service.js';
import {
  CheckListQuerystring,
  CheckListSchema,
  CheckRunListSchema,
  CheckSchema,
  CreateCheckBody,
  DestinationBody,
  DestinationCreatedSchema,
  DestinationListSchema,
  DestinationUpdateBody,
  ErrorSchema,
  IdParams,
  SchedulePreviewQuerystring,
  SchedulePreviewSchema,
  TestSendSchema,
  UpdateCheckBody,
} from './schemas.js';
import type { ChecksService } from './service.js';

const errors = { 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };
type Id = Static<typeof IdParams>;

const RunOutcomeSchema = Type.Object({
  checkRunId: Type.String(),
  state: Type.String(),
  previousState: Type.String(),
  reason: Type.String(),
  notified: Type.Boolean(),
});

const OutboxParams = Type.Object({
  id: IdParams.properties.id,
  file: Type.String({ pattern: '^[0-9A-Za-z-]{1,80}\\.eml$', description: 'A file name from a delivery (outboxFile)' }),
});
type OutboxParams = Static<typeof OutboxParams>;

export interface CheckRoutesOptions {
  checks: ChecksService;
  destinations: DestinationsService;
  /** Set when emails are written to an outbox folder (demo mode) instead of sent. */
  outboxDir?: string;
}

export async function checkRoutes(app: FastifyInstance, opts: CheckRoutesOptions) {
  const { checks, destinations } = opts;
  const viewer = requireRole('viewer');
  const editor = requireRole('editor');
  const admin = requireRole('admin');
  const tags = ['checks'];

  app.get(
    '/api/checks',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'List checks (filters: failing, mine)',
        querystring: CheckListQuerystring,
        response: { 200: CheckListSchema },
      },
    },
    async (request) => {
      const query = request.query as CheckListQuerystring;
      const filter = query.filter ?? 'all';
      return {
        checks: await checks.list(currentUser(request), {
          failing: filter === 'failing',
          mine: filter === 'mine',
          queryId: query.queryId,
        }),
      };
    },
  );

  app.post(
    '/api/checks',
    {
      preHandler: editor,
      schema: {
        tags,
        summary: 'Create a check on a saved query',
        body: CreateCheckBody,
        response: { 201: CheckSchema, ...errors },
      },
    },
    async (request, reply) => {
      const created = await checks.create(currentUser(request), request.body as CreateCheckBody);
      return reply.status(201).header('location', `/api/checks/${created.id}`).send(created);
    },
  );

  app.get(
    '/api/checks/schedule-preview',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'A schedule in words and its next five runs (every, or cron with a time zone)',
        querystring: SchedulePreviewQuerystring,
        response: { 200: SchedulePreviewSchema, 400: ErrorSchema },
      },
    },
    async (request) => {
      const { every, cron, timeZone } = request.query as SchedulePreviewQuerystring;
      if ((every === undefined) === (cron === undefined))
        throw new AppError(400, 'invalid_schedule', 'Give either every (5m, 15m, 1h, 1d) or a cron expression.');
      return checks.previewSchedule(every ? { every } : { cron: cron!, timeZone });
    },
  );

  app.get(
    '/api/checks/:id',
    { preHandler: viewer, schema: { tags, summary: 'One check', params: IdParams, response: { 200: CheckSchema, ...errors } } },
    async (request) => checks.get(currentUser(request), (request.params as Id).id),
  );

  app.put(
    '/api/checks/:id',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: 'Change a check (owner or admin); mutedUntil mutes it',
        params: IdParams,
        body: UpdateCheckBody,
        response: { 200: CheckSchema, ...errors },
      },
    },
    async (request) => checks.update(currentUser(request), (request.params as Id).id, request.body as UpdateCheckBody),
  );

  app.delete(
    '/api/checks/:id',
    {
      preHandler: viewer,
      schema: { tags, summary: 'Delete a check (owner or admin)', params: IdParams, response: { 204: Type.Null(), ...errors } },
    },
    async (request, reply) => {
      await checks.remove(currentUser(request), (request.params as Id).id);
      return reply.status(204).send();
    },
  );

  app.post(
    '/api/checks/:id/run',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: "Run a check now (as its owner, with the owner's access)",
        params: IdParams,
        response: { 200: RunOutcomeSchema, ...errors },
      },
    },
    async (request) => checks.runNow(currentUser(request), (request.params as Id).id),
  );

  app.get(
    '/api/checks/:id/runs',
    {
      preHandler: viewer,
      schema: {
        tags,
        summary: "A check's run history with its notifications",
        params: IdParams,
        response: { 200: CheckRunListSchema, ...errors },
      },
    },
    async (request) => ({ runs: await checks.runs(currentUser(request), (request.params as Id).id) }),
  );

  const { outboxDir } = opts;
  if (outboxDir) {
    app.get(
      '/api/checks/:id/outbox/:file',
      {
        preHandler: viewer,
        schema: {
          tags,
          summary: "Demo mode: an email one of the check's deliveries wrote to .porthole/outbox/, as text",
          params: OutboxParams,
          response: { 200: Type.String(), ...errors },
        },
      },
      async (request, reply) => {
        const { id, file } = request.params as OutboxParams;
        const name = await checks.outboxFile(currentUser(request), id, file);
        const message = await readFile(path.join(outboxDir, name), 'utf8').catch(() => {
          throw new AppError(404, 'not_found', `${name} is no longer in the outbox.`);
        });
        // As text: the raw message (headers, text and HTML parts) is shown, never rendered.
        return reply.type('text/plain; charset=utf-8').header('content-disposition', `inline; filename="${name}"`).send(message);
      },
    );
  }

  const destTags = ['alert destinations'];
  app.get(
    '/api/alert-destinations',
    {
      preHandler: viewer,
      schema: {
        tags: destTags,
        summary: 'Slack and webhook destinations (no URLs or secrets)',
        response: { 200: DestinationListSchema },
      },
    },
    async () => ({ destinations: await destinations.list() }),
  );

  app.post(
    '/api/alert-destinations',
    {
      preHandler: admin,
      schema: {
        tags: destTags,
        summary: 'Add a destination (admins); a webhook secret is shown once',
        body: DestinationBody,
        response: { 201: DestinationCreatedSchema, ...errors },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await destinations.create(currentUser(request), request.body as DestinationBody)),
  );

  app.put(
    '/api/alert-destinations/:id',
    {
      preHandler: admin,
      schema: {
        tags: destTags,
        summary: 'Change a destination (admins)',
        params: IdParams,
        body: DestinationUpdateBody,
        response: { 200: DestinationCreatedSchema, ...errors },
      },
    },
    async (request) =>
      destinations.update(currentUser(request), (request.params as Id).id, request.body as DestinationUpdateBody),
  );

  app.delete(
    '/api/alert-destinations/:id',
    {
      preHandler: admin,
      schema: {
        tags: destTags,
        summary: 'Delete a destination (admins)',
        params: IdParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await destinations.remove(currentUser(request), (request.params as Id).id);
      return reply.status(204).send();
    },
  );

  app.post(
    '/api/alert-destinations/:id/test',
    {
      preHandler: admin,
      schema: {
        tags: destTags,
        summary: 'Send a test message (admins)',
        params: IdParams,
        response: { 200: TestSendSchema, ...errors },
      },
    },
    async (request) => {
      const outcome = await destinations.sendTest(currentUser(request), (request.params as Id).id);
      return { status: outcome.status, detail: outcome.detail };
    },
  );
}
