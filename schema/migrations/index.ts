// Every migration, keyed by its timestamped file name. A static list rather than a folder scan, so the
// same migrations load under tsx, vitest and the compiled production build.
import type { Migration } from 'kysely/migration';
import * as foundation from './2026-11-23T1700_foundation.js';
import * as engine from './2026-11-23T1800_engine.js';
import * as queries from './2026-11-23T1900_queries.js';
import * as auditReview from './2026-11-23T2000_audit_review.js';
import * as queriesSearchWords from './2026-11-23T2100_queries_search_words.js';
import * as apiTokens from './2026-11-30T1237_api_tokens.js';
import * as resultStore from './2026-11-30T1247_result_store.js';
import * as backgroundRuns from './2026-11-30T1253_background_runs.js';
import * as dashboards from './2026-11-30T1253_dashboards.js';
import * as auditRunIds from './2026-11-30T1317_audit_run_ids.js';
import * as checks from './2026-11-30T1347_checks.js';
import * as auditAnchors from './2026-11-30T1352_audit_anchors.js';
import * as resultsZstd from './2026-11-30T2000_results_zstd.js';

export const migrations: Record<string, Migration> = {
  '2026-11-23T1700_foundation': foundation,
  '2026-11-23T1800_engine': engine,
  '2026-11-23T1900_queries': queries,
  '2026-11-23T2000_audit_review': auditReview,
  '2026-11-23T2100_queries_search_words': queriesSearchWords,
  '2026-11-30T1237_api_tokens': apiTokens,
  '2026-11-30T1247_result_store': resultStore,
  '2026-11-30T1253_background_runs': backgroundRuns,
  '2026-11-30T1253_dashboards': dashboards,
  '2026-11-30T1317_audit_run_ids': auditRunIds,
  '2026-11-30T1347_checks': checks,
  '2026-11-30T1352_audit_anchors': auditAnchors,
  '2026-11-30T2000_results_zstd': resultsZstd,
};
