// Kysely access to users.
import type { Kysely, Transaction } from 'kysely';
import type { Database, User } from '../../schema/database.js';
import type { Role } from '../config.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface UserIdentity {
  issuer: string;
  subject: string;
  email: string | null;
  name: string | null;
  groups: string[];
  role: Role;
}

export async function findUserByIdentity(db: Db, issuer: string, subject: string): Promise<User | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('issuer', '=', issuer)
    .where('subject', '=', subject)
    .forUpdate()
    .executeTakeFirst();
}

export async function upsertUser(db: Db, identity: UserIdentity): Promise<User> {
  return db
    .insertInto('users')
    .values({ ...identity, last_login_at: new Date() })
    .onConflict((oc) =>
      oc.columns(['issuer', 'subject']).doUpdateSet({
        email: identity.email,
        name: identity.name,
        groups: identity.groups,
        role: identity.role,
        last_login_at: new Date(),
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}
