// TypeBox schemas of the tokens routes; the web app imports their static types.
import { Type, type Static } from 'typebox';
import { SCOPES } from '../auth/principal.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const ScopeSchema = Type.Union(
  SCOPES.map((scope) => Type.Literal(scope)),
  { description: 'queries:read, queries:run, sql:run (editors and admins), audit:read (admins)' },
);

const Expiry = {
  expiresAt: Type.Optional(
    Type.String({ format: 'date-time', description: 'When the token stops working (at most 365 days ahead)' }),
  ),
  expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365, description: 'Or: days from now' })),
};

export const CreateTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: 4 }),
    ...Expiry,
  },
  { additionalProperties: false },
);
export type CreateTokenBody = Static<typeof CreateTokenBody>;

export const CreateCsvLinkBody = Type.Object(
  {
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'The variable values the link runs with' })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    ...Expiry,
  },
  { additionalProperties: false },
);
export type CreateCsvLinkBody = Static<typeof CreateCsvLinkBody>;

export const TokenSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('personal'), Type.Literal('csv_link')]),
  name: Type.String(),
  hint: Type.String({ description: 'The first characters of the secret' }),
  scopes: Type.Array(Type.String()),
  owner: Type.Object({ id: Type.String(), email: Nullable(Type.String()), name: Nullable(Type.String()) }),
  queryId: Nullable(Type.String()),
  params: Nullable(Type.Record(Type.String(), Type.Unknown())),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  revokedAt: Nullable(Type.String({ format: 'date-time' })),
  lastUsedAt: Nullable(Type.String({ format: 'date-time' })),
  lastUsedIp: Nullable(Type.String()),
  status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
});
export type TokenJson = Static<typeof TokenSchema>;

export const CreatedToken = Type.Object({
  token: Type.String({ description: 'The secret: shown this once, never again' }),
  info: TokenSchema,
});
export type CreatedTokenJson = Static<typeof CreatedToken>;

export const CreatedCsvLink = Type.Object({
  url: Type.String({ description: 'The CSV link, key included: shown this once' }),
  key: Type.String(),
  info: TokenSchema,
});
export type CreatedCsvLinkJson = Static<typeof CreatedCsvLink>;

export const TokenList = Type.Object({ tokens: Type.Array(TokenSchema) });
