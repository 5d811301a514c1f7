// The audit review API (admins): GET /api/audit, /api/audit/:seq, /api/audit.csv, /api/audit/verify,
// /api/audit/activity. Thin: AuditReviewService holds the rules.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { currentUser, requireRole } from '../auth/guards.js';
import type { AuditFilter } from './repository.js';
import { queryRunHistory, type AuditReviewService } from './review.service.js';
import { IntegrityStatusSchema } from './schemas.js';

const Digits = Type.String({ pattern: '^[0-9]{1,19}$' });

/** Who: a user id or an email address, the same grammar on every endpoint that filters by person. */
const Actor = Type.String({ minLength: 1, maxLength: 320, description: 'A user id or an email address' });

const FilterQuery = Type.Object({
  actor: Type.Optional(Actor),
  action: Type.Optional(Type.String({ maxLength: 64 })),
  dataSource: Type.Optional(Type.String({ maxLength: 64 })),
  queryId: Type.Optional(Digits),
  queryVersion: Type.Optional(Type.Integer({ minimum: 1 })),
  outcome: Type.Optional(
    Type.Union([Type.Literal('ok'), Type.Literal('error'), Type.Literal('denied'), Type.Literal('cancelled')]),
  ),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  /** Runs under this access tier. */
  tier: Type.Optional(Type.String({ minLength: 1, maxLength: 31 })),
  cursor: Type.Optional(Digits),
});
type FilterQuery = Static<typeof FilterQuery>;

function toFilter(query: FilterQuery): AuditFilter {
  return {
    action: query.action,
    dataSource: query.dataSource,
    queryId: query.queryId,
    queryVersion: query.queryVersion,
    outcome: query.outcome,
    from: query.from ? new Date(query.from) : undefined,
    to: query.to ? new Date(query.to) : undefined,
    sqlContains: query.q,
    tier: query.tier,
    beforeSeq: query.cursor,
  };
}

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const ListItem = Type.Object({
  seq: Type.String(),
  occurredAt: Type.String(),
  actor: Type.Object({ id: Nullable(Type.String()), email: Nullable(Type.String()) }),
  action: Type.String(),
  dataSource: Nullable(Type.String()),
  queryId: Nullable(Type.String()),
  queryVersion: Nullable(Type.Integer()),
  outcome: Nullable(Type.String()),
  rowCount: Nullable(Type.String()),
  durationMs: Nullable(Type.Integer()),
  errorCode: Nullable(Type.String()),
  sqlPreview: Nullable(Type.String()),
  tier: Nullable(Type.String()),
  sensitive: Type.Boolean(),
});

export async function auditRoutes(app: FastifyInstance, opts: { review: AuditReviewService }) {
  const { review } = opts;
  const admin = { preHandler: requireRole('admin') };

  app.get(
    '/api/audit',
    {
      ...admin,
      schema: {
        querystring: FilterQuery,
        response: { 200: Type.Object({ events: Type.Array(ListItem), nextCursor: Nullable(Type.String()) }) },
      },
    },
    async (request) => {
      const query = request.query as FilterQuery;
      return review.list(currentUser(request), await review.resolveActor(toFilter(query), query.actor), request.ip);
    },
  );

  app.get('/api/audit.csv', { ...admin, schema: { querystring: FilterQuery } }, async (request, reply) => {
    const query = request.query as FilterQuery;
    const stream = await review.exportCsv(
      currentUser(request),
      await review.resolveActor(toFilter(query), query.actor),
      request.ip,
    );
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="porthole-audit-${stamp}.csv"`)
      .header('cache-control', 'no-store')
      .send(stream);
  });

  app.get(
    '/api/audit/integrity',
    {
      ...admin,
      schema: {
        summary: "Whether the scheduled verification found the audit chain broken (the admins' banner)",
        response: { 200: IntegrityStatusSchema },
      },
    },
    async (request) => review.integrity(currentUser(request)),
  );

  app.get(
    '/api/audit/verify',
    {
      ...admin,
      schema: {
        querystring: Type.Object({ full: Type.Optional(Type.Boolean()) }),
        response: {
          200: Type.Object({
            status: Type.Union([Type.Literal('ok'), Type.Literal('broken')]),
            eventsVerified: Type.Integer(),
            headSeq: Type.String(),
            fromSeq: Type.String(),
            full: Type.Boolean(),
            firstBadSeq: Nullable(Type.String()),
            problem: Nullable(Type.String()),
            verifiedAt: Nullable(Type.String()),
          }),
        },
      },
    },
    async (request) => {
      const { full } = request.query as { full?: boolean };
      const result = await review.verify(currentUser(request), full ?? false);
      return {
        status: result.ok ? ('ok' as const) : ('broken' as const),
        eventsVerified: result.events,
        headSeq: result.headSeq,
        fromSeq: result.fromSeq,
        full: result.full,
        firstBadSeq: result.firstBadSeq ?? null,
        problem: result.problem ?? null,
        verifiedAt: result.verifiedAt?.toISOString() ?? null,
      };
    },
  );

  app.get(
    '/api/audit/activity',
    {
      ...admin,
      schema: {
        querystring: Type.Object({
          days: Type.Optional(Type.Integer({ minimum: 1, maximum: 366 })),
          actor: Type.Optional(Actor),
        }),
      },
    },
    async (request) => {
      const { days, actor } = request.query as { days?: number; actor?: string };
      return { days: await review.activity(currentUser(request), days ?? 30, actor) };
    },
  );

  app.get(
    '/api/audit/unclosed-runs',
    {
      ...admin,
      schema: {
        summary: 'run.started events without a finished, failed, cancelled or abandoned event (runs not live now)',
        response: {
          200: Type.Object({
            count: Type.Integer(),
            runs: Type.Array(
              Type.Object({
                seq: Type.String(),
                runId: Type.String(),
                occurredAt: Type.String(),
                actor: Type.Object({ id: Nullable(Type.String()), email: Nullable(Type.String()) }),
                dataSource: Nullable(Type.String()),
              }),
            ),
          }),
        },
      },
    },
    async (request) => review.unclosedRuns(currentUser(request)),
  );

  // Not admin-only: whoever may read the saved query sees how its runs went (the queries service decides).
  app.get(
    '/api/queries/:id/runs',
    {
      preHandler: requireRole('viewer'),
      schema: { params: Type.Object({ id: Digits }), querystring: Type.Object({ cursor: Type.Optional(Digits) }) },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const user = currentUser(request);
      return queryRunHistory(
        app.toolsDb,
        () => app.queries.get(user, id, request.ip),
        id,
        (request.query as { cursor?: string }).cursor,
      );
    },
  );

  app.get('/api/audit/:seq', { ...admin, schema: { params: Type.Object({ seq: Digits }) } }, async (request) =>
    review.get(currentUser(request), (request.params as { seq: string }).seq, request.ip),
  );
}
