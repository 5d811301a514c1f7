// TypeBox schemas of the audit routes that the web app reads by type (it imports their static types).
import { Type, type Static } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** GET /api/audit/integrity: the last scheduled verification's verdict (server/audit/integrity-status.ts). */
export const IntegrityStatusSchema = Type.Object({
  ok: Type.Boolean({ description: 'False from a failed scheduled verification until a full verification passes' }),
  broken: Type.Optional(
    Type.Object({
      firstBadSeq: Nullable(Type.String({ description: 'The first event whose hash does not match' })),
      problem: Nullable(Type.String()),
      detectedAt: Type.String({ format: 'date-time', description: 'When the scheduled verification found it' }),
    }),
  ),
});
export type IntegrityStatusJson = Static<typeof IntegrityStatusSchema>;
