// Brings the tools DB up to date as the owner role, then grants the serving role what it needs.
import type { Kysely } from 'kysely';
import { grantServingRole, migrateToLatest } from '../../schema/migrator.js';
import { grantSchedulerToServingRole, installScheduler } from '../scheduler/install.js';
import { connectToolsDb, urlUser } from './tools-db.js';

export interface MigrationTarget {
  toolsDatabaseUrl: string;
  toolsMigrationUrl?: string;
}

export interface MigrationReport {
  applied: string[];
  servingRole?: string;
}

export async function migrateToolsDb(target: MigrationTarget): Promise<MigrationReport> {
  const ownerUrl = target.toolsMigrationUrl ?? target.toolsDatabaseUrl;
  const owner = connectToolsDb(ownerUrl, { max: 1, applicationName: 'porthole-migrate' });
  try {
    const db = owner.db as unknown as Kysely<unknown>;
    const applied = await migrateToLatest(db);
    await installScheduler(ownerUrl);
    const servingRole = urlUser(target.toolsDatabaseUrl);
    if (target.toolsMigrationUrl && servingRole !== urlUser(ownerUrl)) {
      await grantServingRole(db, servingRole);
      await grantSchedulerToServingRole(db, servingRole);
      return { applied, servingRole };
    }
    return { applied };
  } finally {
    await owner.close();
  }
}
