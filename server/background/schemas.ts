// TypeBox schemas of the background run routes; the web app imports their static types.
import { Type, type Static } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const RunStatusSchema = Type.Union(
  ['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((status) => Type.Literal(status)),
);

export const BackgroundRunSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  status: RunStatusSchema,
  dataSource: Type.String(),
  queryId: Nullable(Type.String()),
  queryVersion: Nullable(Type.Integer()),
  queryName: Nullable(Type.String()),
  sqlPreview: Type.String({ description: 'The first 500 characters of the SQL' }),
  ownerId: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: Nullable(Type.String({ format: 'date-time' })),
  finishedAt: Nullable(Type.String({ format: 'date-time' })),
  rowCount: Nullable(Type.Integer()),
  truncated: Nullable(Type.Boolean()),
  durationMs: Nullable(Type.Integer()),
  error: Nullable(Type.Object({ code: Type.String(), message: Type.String() })),
  resultExpiresAt: Nullable(Type.String({ format: 'date-time' })),
  resultAvailable: Type.Boolean(),
});
export type BackgroundRunJson = Static<typeof BackgroundRunSchema>;

export const BackgroundStarted = Type.Object({
  id: Type.String({ format: 'uuid' }),
  status: RunStatusSchema,
});
export type BackgroundStartedJson = Static<typeof BackgroundStarted>;

export const BackgroundRunList = Type.Object({ runs: Type.Array(BackgroundRunSchema) });

export const RunIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
