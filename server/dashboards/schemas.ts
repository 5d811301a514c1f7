// TypeBox schemas of the dashboard API: request validation, response filtering and OpenAPI in one place.
import { Type, type Static } from 'typebox';
import { type VARIABLE_KINDS } from '../queries/content.js';
import { ErrorSchema, VersionSchema } from '../queries/schemas.js';
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
import { type CARD_DISPLAYS, DASHBOARD_LIMITS, GRID_COLUMNS } from './content.js';

export { ErrorSchema };

export const DashboardIdParams = entityIdParams('Dashboard id');
export const DashboardVersionParams = VersionParams;
// Written out (not mapped from the lists) so the static types keep the literals; checked against the lists.
const VariableKindSchema = Type.Union([
  Type.Literal('text'),
  Type.Literal('number'),
  Type.Literal('timestamp'),
  Type.Literal('date'),
  Type.Literal('boolean'),
]);
const CardDisplaySchema = Type.Union([Type.Literal('chart'), Type.Literal('table'), Type.Literal('number')]);
type SameMembers<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const kindsMatch: SameMembers<Static<typeof VariableKindSchema>, (typeof VARIABLE_KINDS)[number]> = true;
const displaysMatch: SameMembers<Static<typeof CardDisplaySchema>, (typeof CARD_DISPLAYS)[number]> = true;
void [kindsMatch, displaysMatch];

const Name = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 63 });

const Variable = Type.Object(
  {
    name: Name,
    kind: VariableKindSchema,
    default: Type.Union([Type.String({ maxLength: DASHBOARD_LIMITS.default }), Type.Null()], {
      description: 'A value, or for dates and timestamps now, today, now-30d, today-7d, now-6h',
    }),
  },
  { additionalProperties: false },
);

const Card = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,40}$' }),
    queryId: Type.String({ pattern: '^[0-9]{1,18}$' }),
    queryVersion: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
      description: 'Pinned version; null: the current one',
    }),
    title: Type.Union([Type.String({ maxLength: DASHBOARD_LIMITS.title }), Type.Null()]),
    display: CardDisplaySchema,
    x: Type.Integer({ minimum: 0, maximum: GRID_COLUMNS - 1 }),
    y: Type.Integer({ minimum: 0, maximum: DASHBOARD_LIMITS.maxY }),
    w: Type.Integer({ minimum: 1, maximum: GRID_COLUMNS }),
    h: Type.Integer({ minimum: 1, maximum: DASHBOARD_LIMITS.maxHeight }),
    variableMap: Type.Record(Name, Name, { description: 'Query variable -> dashboard variable (default: the same name)' }),
  },
  { additionalProperties: false },
);

const contentFields = {
  name: Type.String({ minLength: 1, maxLength: DASHBOARD_LIMITS.name }),
  description: Type.String({ maxLength: DASHBOARD_LIMITS.description }),
  variables: Type.Array(Variable, { maxItems: DASHBOARD_LIMITS.variables }),
  refreshSeconds: Type.Union([Type.Integer({ minimum: DASHBOARD_LIMITS.minRefreshSeconds, maximum: 86_400 }), Type.Null()], {
    description: 'Auto-refresh while visible; null = off',
  }),
  cacheMaxAgeSeconds: Type.Integer({
    minimum: 0,
    maximum: DASHBOARD_LIMITS.maxCacheAgeSeconds,
    description: 'Cards may be answered from results at most this old; 0 = off',
  }),
  cards: Type.Array(Card, { maxItems: DASHBOARD_LIMITS.cards }),
};

export const CreateDashboardBody = Type.Object(
  {
    name: contentFields.name,
    description: Type.Optional(contentFields.description),
    variables: Type.Optional(contentFields.variables),
    refreshSeconds: Type.Optional(contentFields.refreshSeconds),
    cacheMaxAgeSeconds: Type.Optional(contentFields.cacheMaxAgeSeconds),
    cards: Type.Optional(contentFields.cards),
    visibility: Type.Optional(Visibility),
  },
  { additionalProperties: false },
);
export type CreateDashboardBody = Static<typeof CreateDashboardBody>;

export const UpdateDashboardBody = Type.Object(
  {
    baseVersion: baseVersionField('The version these changes start from; 409 if no longer current'),
    name: Type.Optional(contentFields.name),
    description: Type.Optional(contentFields.description),
    variables: Type.Optional(contentFields.variables),
    refreshSeconds: Type.Optional(contentFields.refreshSeconds),
    cacheMaxAgeSeconds: Type.Optional(contentFields.cacheMaxAgeSeconds),
    cards: Type.Optional(contentFields.cards),
    visibility: Type.Optional(Visibility),
    locked: lockedField,
  },
  { additionalProperties: false },
);
export type UpdateDashboardBody = Static<typeof UpdateDashboardBody>;

export const DeleteDashboardBody = deleteBody('Delete an archived dashboard for good (admins)');
export const ForkDashboardBody = forkBody(contentFields.name);
export const RestoreDashboardBody = RestoreBody;

export const ListDashboardsQuerystring = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Search names and descriptions' })),
    filter: listPagingFields.filter,
    archived: Type.Optional(Type.Boolean({ description: 'List archived dashboards instead' })),
    limit: listPagingFields.limit,
    offset: listPagingFields.offset,
  },
  { additionalProperties: false },
);
export type ListDashboardsQuerystring = Static<typeof ListDashboardsQuerystring>;

export const DashboardVersionSchema = Type.Object({ ...versionHeaderFields, ...contentFields });

export const DashboardVersionSummarySchema = VersionSummarySchema;

const CardQuerySchema = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    name: Type.String(),
    version: Type.Integer(),
    currentVersion: Type.Integer(),
    dataSource: Type.String(),
    variables: VersionSchema.properties.variables,
    chart: Type.Unknown(),
  },
  { description: 'The query of a card, for a viewer who may read it' },
);

export const DashboardSchema = Type.Object({
  id: Type.String(),
  url: Type.String({ description: 'The permalink, /dashboards/:id-:slug' }),
  owner: Person,
  visibility: Visibility,
  locked: Type.Boolean(),
  archivedAt: Nullable(DateTime),
  createdAt: DateTime,
  updatedAt: DateTime,
  currentVersion: Type.Integer(),
  forkedFrom: Nullable(
    Type.Object({ dashboardId: Type.String(), version: Type.Integer(), name: Type.String(), url: Type.String() }),
  ),
  version: DashboardVersionSchema,
  cardQueries: Type.Record(Type.String(), Nullable(CardQuerySchema), {
    description: 'Per card id: its query as you may see it; null when you may not read it (no access) or it is gone',
  }),
  permissions: permissionsSchema(),
});

export const ListedDashboardSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  name: Type.String(),
  description: Type.String(),
  owner: Person,
  visibility: Visibility,
  locked: Type.Boolean(),
  currentVersion: Type.Integer(),
  cardCount: Type.Integer(),
  archivedAt: Nullable(DateTime),
  updatedAt: DateTime,
  viewedAt: Nullable(DateTime),
});

export const DashboardListSchema = Type.Object({ dashboards: Type.Array(ListedDashboardSchema), hasMore: Type.Boolean() });

export type DashboardResponse = Static<typeof DashboardSchema>;
export type DashboardVersionResponse = Static<typeof DashboardVersionSchema>;
export type DashboardVersionSummaryResponse = Static<typeof DashboardVersionSummarySchema>;
/** A card's query at one version (GET /api/queries/:id/versions/:n), for pinning a card in the web app. */
export type CardQueryVersionResponse = Static<typeof VersionSchema>;
export type CardQueryVersionSummaryResponse = Static<typeof VersionSummarySchema>;
export type ListedDashboardResponse = Static<typeof ListedDashboardSchema>;
