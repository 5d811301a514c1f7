// TypeBox schemas of the checks and alert-destination API: validation, response filtering and OpenAPI
// from one source; the web app imports the static types.
import { Type, type Static } from 'typebox';

export { ErrorSchema } from '../queries/schemas.js';

const Id = Type.String({ pattern: '^[0-9]{1,18}$' });
export const IdParams = Type.Object({ id: Id });
const DateTime = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const Comparison = Type.Union([
  Type.Literal('>'),
  Type.Literal('>='),
  Type.Literal('<'),
  Type.Literal('<='),
  Type.Literal('='),
  Type.Literal('!='),
]);
const ColumnName = Type.String({ minLength: 1, maxLength: 63 });
// No additionalProperties:false inside these unions: Fastify's Ajv (removeAdditional) would strip the
// fields of a later branch while trying an earlier one.
export const ConditionSchema = Type.Union(
  [
    Type.Object({ kind: Type.Literal('rows') }, { description: 'Failing when the query returns any row' }),
    Type.Object({ kind: Type.Literal('no_rows') }, { description: 'Failing when it returns none' }),
    Type.Object(
      { kind: Type.Literal('threshold'), column: ColumnName, op: Comparison, value: Type.Number() },
      { description: "Failing when the first row's column compares true with the value" },
    ),
    Type.Object(
      {
        kind: Type.Literal('anomaly'),
        column: ColumnName,
        timeColumn: Type.Optional(ColumnName),
        k: Type.Optional(Type.Number({ minimum: 0.5, maximum: 20, description: 'Band width in MADs (default 3)' })),
        seasonality: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('weekly')])),
      },
      {
        description: 'Failing when the last point is outside median ± k × MAD of at least 8 earlier points',
      },
    ),
  ],
  { description: 'What makes the check fail' },
);

export const ScheduleSchema = Type.Union([
  Type.Object({ every: Type.Union([Type.Literal('5m'), Type.Literal('15m'), Type.Literal('1h'), Type.Literal('1d')]) }),
  Type.Object({
    cron: Type.String({ minLength: 9, maxLength: 100, description: 'Five-field cron expression' }),
    timeZone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA time zone (default UTC)' })),
  }),
]);

export const SchedulePreviewQuerystring = Type.Object(
  {
    every: Type.Optional(Type.Union([Type.Literal('5m'), Type.Literal('15m'), Type.Literal('1h'), Type.Literal('1d')])),
    cron: Type.Optional(Type.String({ maxLength: 100, description: 'Five-field cron expression' })),
    timeZone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA time zone (default UTC)' })),
  },
  { additionalProperties: false },
);
export type SchedulePreviewQuerystring = Static<typeof SchedulePreviewQuerystring>;
export const SchedulePreviewSchema = Type.Object({
  scheduleText: Type.String({ description: 'The schedule in words' }),
  nextRuns: Type.Array(Type.String({ format: 'date-time' }), { description: 'The next five run times' }),
});
export type SchedulePreview = Static<typeof SchedulePreviewSchema>;

const Emails = Type.Array(Type.String({ format: 'email', maxLength: 254 }), { maxItems: 50 });
const DestinationIds = Type.Array(Id, { maxItems: 20 });
const Params = Type.Record(Type.String(), Type.Unknown(), { description: "Values for the query's variables" });

const editable = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  queryVersion: Nullable(Type.Integer({ minimum: 1, description: 'Pin a version; null runs the current one' })),
  params: Params,
  schedule: ScheduleSchema,
  condition: ConditionSchema,
  emails: Emails,
  destinationIds: DestinationIds,
  enabled: Type.Boolean(),
  remindEveryHours: Nullable(Type.Integer({ minimum: 1, maximum: 720, description: 'Remind while failing' })),
  mutedUntil: Nullable(Type.String({ format: 'date-time', description: 'No notifications until then' })),
  timeoutMs: Type.Integer({ minimum: 1000, maximum: 3_600_000 }),
};

export const CreateCheckBody = Type.Object(
  {
    queryId: Id,
    name: editable.name,
    schedule: editable.schedule,
    condition: editable.condition,
    queryVersion: Type.Optional(editable.queryVersion),
    params: Type.Optional(editable.params),
    emails: Type.Optional(editable.emails),
    destinationIds: Type.Optional(editable.destinationIds),
    enabled: Type.Optional(editable.enabled),
    remindEveryHours: Type.Optional(editable.remindEveryHours),
    mutedUntil: Type.Optional(editable.mutedUntil),
    timeoutMs: Type.Optional(editable.timeoutMs),
  },
  { additionalProperties: false },
);
export type CreateCheckBody = Static<typeof CreateCheckBody>;

export const UpdateCheckBody = Type.Object(
  Object.fromEntries(Object.entries(editable).map(([key, schema]) => [key, Type.Optional(schema)])) as {
    [K in keyof typeof editable]: ReturnType<typeof Type.Optional<(typeof editable)[K]>>;
  },
  { additionalProperties: false },
);
export type UpdateCheckBody = Static<typeof UpdateCheckBody>;

const CheckState = Type.Union([
  Type.Literal('pending'),
  Type.Literal('ok'),
  Type.Literal('failing'),
  Type.Literal('error'),
  Type.Literal('timed_out'),
  Type.Literal('disabled'),
]);

export const CheckSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  query: Type.Object({ id: Type.String(), name: Type.String() }),
  queryVersion: Nullable(Type.Integer()),
  params: Params,
  schedule: ScheduleSchema,
  scheduleText: Type.String({ description: 'The schedule in words' }),
  nextRuns: Type.Array(DateTime, { description: 'The next five run times' }),
  condition: ConditionSchema,
  emails: Emails,
  destinationIds: DestinationIds,
  enabled: Type.Boolean(),
  owner: Type.Object({ id: Type.String(), email: Nullable(Type.String()), name: Nullable(Type.String()) }),
  state: CheckState,
  stateReason: Nullable(Type.String()),
  stateChangedAt: Nullable(DateTime),
  remindEveryHours: Nullable(Type.Integer()),
  mutedUntil: Nullable(DateTime),
  timeoutMs: Type.Integer(),
  lastRunAt: Nullable(DateTime),
  nextRunAt: Nullable(DateTime),
  version: Type.Integer(),
  canEdit: Type.Boolean(),
});
export type CheckView = Static<typeof CheckSchema>;

export const CheckListQuerystring = Type.Object(
  {
    filter: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('failing'), Type.Literal('mine')])),
    queryId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type CheckListQuerystring = Static<typeof CheckListQuerystring>;
export const CheckListSchema = Type.Object({ checks: Type.Array(CheckSchema) });

export const DeliverySchema = Type.Object({
  channel: Type.Union([Type.Literal('email'), Type.Literal('slack'), Type.Literal('webhook')]),
  target: Type.String(),
  attempt: Type.Integer(),
  status: Type.Union([Type.Literal('sent'), Type.Literal('failed'), Type.Literal('refused')]),
  detail: Nullable(Type.String()),
  responseStatus: Nullable(Type.Integer()),
  at: DateTime,
  outboxFile: Type.Optional(Type.String({ description: 'Demo mode: the message file under .porthole/outbox/' })),
});
export const CheckRunSchema = Type.Object({
  id: Type.String(),
  trigger: Type.Union([Type.Literal('schedule'), Type.Literal('manual')]),
  slot: Nullable(DateTime),
  startedAt: DateTime,
  finishedAt: Nullable(DateTime),
  state: Nullable(Type.String()),
  previousState: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  rowCount: Nullable(Type.Integer()),
  notified: Type.Boolean(),
  deliveries: Type.Array(DeliverySchema),
});
export type CheckRunView = Static<typeof CheckRunSchema>;
export const CheckRunListSchema = Type.Object({ runs: Type.Array(CheckRunSchema) });

export const DestinationBody = Type.Object(
  {
    kind: Type.Union([Type.Literal('slack'), Type.Literal('webhook')]),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    url: Type.String({ minLength: 8, maxLength: 2000, description: 'https; never returned in full after saving' }),
    secret: Type.Optional(
      Type.String({ minLength: 16, maxLength: 200, description: 'Webhook signing secret; generated when omitted' }),
    ),
  },
  { additionalProperties: false },
);
export type DestinationBody = Static<typeof DestinationBody>;
export const DestinationUpdateBody = Type.Partial(DestinationBody, { additionalProperties: false });
export type DestinationUpdateBody = Static<typeof DestinationUpdateBody>;

export const DestinationSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('slack'), Type.Literal('webhook')]),
  name: Type.String(),
  urlHint: Type.String({ description: 'Scheme and host only, e.g. https://hooks.slack.com/…' }),
  secretHint: Nullable(Type.String({ description: 'The last four characters of the signing secret' })),
  createdAt: DateTime,
});
export type DestinationView = Static<typeof DestinationSchema>;
export const DestinationCreatedSchema = Type.Object({
  ...DestinationSchema.properties,
  secret: Nullable(Type.String({ description: 'The signing secret, shown once when it is set' })),
});
export const DestinationListSchema = Type.Object({ destinations: Type.Array(DestinationSchema) });
export const TestSendSchema = Type.Object({
  status: Type.Union([Type.Literal('sent'), Type.Literal('failed'), Type.Literal('refused')]),
  detail: Nullable(Type.String()),
});
