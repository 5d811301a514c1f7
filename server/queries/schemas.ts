// TypeBox schemas of the saved-query API: request validation, response filtering and OpenAPI in one place.
import { Type, type Static } from 'typebox';
import {
  DateTime,
  Nullable,
  Person,
  RestoreBody,
  VersionParams,
  VersionSummarySchema,
  Visibility,
  baseVersionField,
  deleteBody,
  entityIdParams,
  forkBody,
  listPagingFields,
  lockedField,
  permissionsSchema,
  versionHeaderFields,
} from '../versioned/schemas.js';
import { LIMITS, VARIABLE_KINDS } from './content.js';

export { RestoreBody, VersionParams, VersionSummarySchema };

export const ErrorSchema = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true }) },
  { description: 'An error with a stable code; a 409 version_conflict also carries currentVersion' },
);

export const QueryIdParams = entityIdParams('Query id');

const Variable = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 63 }),
    kind: Type.Optional(
      Type.Union(
        VARIABLE_KINDS.map((kind) => Type.Literal(kind)),
        { description: "Absent: by Blazer's naming conventions and the value" },
      ),
    ),
    multiple: Type.Optional(Type.Boolean({ description: 'Accepts a list, for IN ({name})' })),
    optionsQueryId: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,19}$',
        description: 'A saved query whose rows (value, label) fill a dropdown for this variable',
      }),
    ),
    default: Type.Optional(
      Type.String({
        maxLength: LIMITS.variableDefault,
        description:
          'The value a run takes when none is given. Dates and timestamps may be relative: now, today, tomorrow, ' +
          'this_month, optionally minus N h/d/w/mo (today-29d, this_month-1mo), resolved when each run starts',
      }),
    ),
  },
  { additionalProperties: false },
);

const contentFields = {
  name: Type.String({ minLength: 1, maxLength: LIMITS.name }),
  description: Type.String({ maxLength: LIMITS.description }),
  tags: Type.Array(Type.String({ maxLength: LIMITS.tag }), { maxItems: LIMITS.tags }),
  dataSource: Type.String({ minLength: 1, maxLength: 64 }),
  sql: Type.String({ minLength: 1, description: `At most ${LIMITS.sql} characters` }),
  variables: Type.Array(Variable, {
    maxItems: LIMITS.variables,
    description: 'Declared variable types (overrides naming conventions)',
  }),
  chart: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()], { description: 'Chart settings (issue #6)' }),
};

export const CreateBody = Type.Object(
  {
    name: contentFields.name,
    description: Type.Optional(contentFields.description),
    tags: Type.Optional(contentFields.tags),
    dataSource: contentFields.dataSource,
    sql: contentFields.sql,
    variables: Type.Optional(contentFields.variables),
    chart: Type.Optional(contentFields.chart),
    visibility: Type.Optional(Visibility),
  },
  { additionalProperties: false },
);
export type CreateBody = Static<typeof CreateBody>;

export const UpdateBody = Type.Object(
  {
    baseVersion: baseVersionField('The version these changes start from; 409 if it is no longer current'),
    name: Type.Optional(contentFields.name),
    description: Type.Optional(contentFields.description),
    tags: Type.Optional(contentFields.tags),
    dataSource: Type.Optional(contentFields.dataSource),
    sql: Type.Optional(contentFields.sql),
    variables: Type.Optional(contentFields.variables),
    chart: Type.Optional(contentFields.chart),
    visibility: Type.Optional(Visibility),
    locked: lockedField,
    cacheMaxAgeSeconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 86_400, description: 'Runs may be answered from results at most this old; 0 = off' }),
    ),
  },
  { additionalProperties: false },
);
export type UpdateBody = Static<typeof UpdateBody>;

export const DeleteBody = deleteBody('Delete an archived query for good (admins)');

export const ForkBody = forkBody(contentFields.name, { description: 'Fork this version instead of the current one' });

export const ListQuerystring = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Search name, description, tags, SQL and owner' })),
    filter: listPagingFields.filter,
    tag: Type.Optional(Type.String({ maxLength: LIMITS.tag })),
    archived: Type.Optional(Type.Boolean({ description: 'List archived queries instead' })),
    limit: listPagingFields.limit,
    offset: listPagingFields.offset,
  },
  { additionalProperties: false },
);
export type ListQuerystring = Static<typeof ListQuerystring>;

export const VersionSchema = Type.Object({
  ...versionHeaderFields,
  ...contentFields,
  chart: Type.Unknown(),
});

export const QuerySchema = Type.Object({
  id: Type.String(),
  url: Type.String({ description: 'The permalink, /queries/:id-:slug' }),
  owner: Person,
  visibility: Visibility,
  locked: Type.Boolean(),
  archivedAt: Nullable(DateTime),
  createdAt: DateTime,
  updatedAt: DateTime,
  currentVersion: Type.Integer(),
  cacheMaxAgeSeconds: Type.Integer({ description: 'Runs may be answered from cached results at most this old; 0 = off' }),
  forkedFrom: Nullable(Type.Object({ queryId: Type.String(), version: Type.Integer(), name: Type.String(), url: Type.String() })),
  forks: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      url: Type.String(),
      owner: Person,
      fromVersion: Nullable(Type.Integer()),
    }),
  ),
  version: VersionSchema,
  permissions: permissionsSchema({ description: 'What the signed-in user may do with this query' }),
});

export const ListedQuerySchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  name: Type.String(),
  description: Type.String({ description: 'The first 300 characters' }),
  tags: Type.Array(Type.String()),
  dataSource: Type.String(),
  owner: Person,
  visibility: Visibility,
  locked: Type.Boolean(),
  currentVersion: Type.Integer(),
  forkedFromQueryId: Nullable(Type.String()),
  archivedAt: Nullable(DateTime),
  updatedAt: DateTime,
  viewedAt: Nullable(DateTime),
  rank: Nullable(Type.Number()),
});

export const ListSchema = Type.Object({
  queries: Type.Array(ListedQuerySchema),
  hasMore: Type.Boolean(),
  tags: Type.Optional(
    Type.Array(Type.Object({ tag: Type.String(), count: Type.Integer() }), { description: 'On the first page' }),
  ),
});
