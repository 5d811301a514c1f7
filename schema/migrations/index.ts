// Every migration, keyed by its timestamped file name. A static list rather than a folder scan, so the
// same migrations load under tsx, vitest and the compiled production build.
import type { Migration } from 'kysely/migration';
import * as foundation from './2026-11-23T1700_foundation.js';
import * as engine from './2026-11-23T1800_engine.js';
import * as queries from './2026-11-23T1900_queries.js';
import * as auditReview from './2026-11-23T2000_audit_review.js';
import * as queriesSearchWords from './2026-11-23T2100_queries_search_words.js';
import * as auditAnchors from './2026-11-30T1352_audit_anchors.js';

export const migrations: Record<string, Migration> = {
  '2026-11-23T1700_foundation': foundation,
  '2026-11-23T1800_engine': engine,
  '2026-11-23T1900_queries': queries,
  '2026-11-23T2000_audit_review': auditReview,
  '2026-11-23T2100_queries_search_words': queriesSearchWords,
  '2026-11-30T1352_audit_anchors': auditAnchors,
};
