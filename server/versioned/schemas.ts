// TypeBox pieces every versioned entity's API (saved queries, dashboards) shares: ids, version lists,
// restore, fork, archive and purge bodies, the list query string's paging, owners and permissions. Each
// feature's schemas.ts builds its own content, bodies and views from these.
import { Type, type Static, type TSchema } from 'typebox';
import type { VersionedAction } from './access.js';

const idPattern = '^[0-9]{1,18}$';

export const DateTime = Type.String({ format: 'date-time' });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const Person = Type.Object({ id: Type.String(), name: Nullable(Type.String()), email: Nullable(Type.String()) });

export const Visibility = Type.Union([Type.Literal('team'), Type.Literal('private')], {
  description: 'team: everyone signed in can see it; private: its owner and admins only',
});

/** `:id` of an entity's routes, described as e.g. "Query id". */
export const entityIdParams = (description: string) => Type.Object({ id: Type.String({ pattern: idPattern, description }) });

/** `:id/versions/:version`. */
export const VersionParams = Type.Object({
  id: Type.String({ pattern: idPattern }),
  version: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
});

/** Who saved a version, when, and what it restored; a version's content comes beside these. */
export const versionHeaderFields = {
  version: Type.Integer(),
  author: Person,
  createdAt: DateTime,
  restoredFrom: Nullable(Type.Integer()),
};

/** One entry of GET .../versions (newest first); its content is fetched by number. */
export const VersionSummarySchema = Type.Object({
  version: Type.Integer(),
  name: Type.String(),
  author: Person,
  createdAt: DateTime,
  restoredFrom: Nullable(Type.Integer()),
});

export const VersionListSchema = Type.Object({ versions: Type.Array(VersionSummarySchema) });

export const RestoreBody = Type.Object({ baseVersion: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

/** The optional base version of an update: needed when the content changes, 409 if it is not current. */
export const baseVersionField = (description: string) => Type.Optional(Type.Integer({ minimum: 1, description }));

export const lockedField = Type.Optional(Type.Boolean({ description: 'Only the owner and admins may save new versions' }));

/** DELETE's body: archive without one, purge an archived one with {purge:true}. */
export const deleteBody = (description: string) =>
  Type.Optional(Type.Object({ purge: Type.Optional(Type.Boolean({ description })) }, { additionalProperties: false }));

/** POST .../fork: a name (the feature's limits), the visibility and the version to copy, all optional. */
export const forkBody = <Name extends TSchema>(name: Name, versionOptions: { description?: string } = {}) =>
  Type.Optional(
    Type.Object(
      {
        name: Type.Optional(name),
        visibility: Type.Optional(Visibility),
        version: Type.Optional(Type.Integer({ minimum: 1, ...versionOptions })),
      },
      { additionalProperties: false },
    ),
  );

/** The list query string's filter and paging. */
export const listPagingFields = {
  filter: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('mine'), Type.Literal('recent')], { default: 'all' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
};

const actions = ['read', 'run', 'edit', 'fork', 'archive', 'manage', 'purge'] as const satisfies readonly VersionedAction[];

/** What the signed-in user may do with it (server/versioned/access.ts), for the web app's buttons. */
export const permissionsSchema = (options: { description?: string } = {}) =>
  Type.Object(
    Object.fromEntries(actions.map((action) => [action, Type.Boolean()])) as Record<
      (typeof actions)[number],
      ReturnType<typeof Type.Boolean>
    >,
    options,
  );

export type VersionSummaryResponse = Static<typeof VersionSummarySchema>;
