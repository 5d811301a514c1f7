// State of the audit review page: filters (mirrored in the URL so a review can be shared), the loaded
// pages, the open event, the integrity badge and the activity counts.
import { api } from '../../lib/api';
import { auditIntegrity } from './audit-integrity.svelte';
import { apiSearch, filtersFromSearch, pageSearch, type AuditFilters, type FilterKey } from './audit-filters';

export type { AuditFilters, FilterKey };

export const ACTIONS = [
  'run.started',
  'run.finished',
  'run.failed',
  'run.cancelled',
  'run.csv_downloaded',
  'run.cache_hit',
  'run.result_read',
  'query.created',
  'query.updated',
  'query.archived',
  'query.restored',
  'query.forked',
  'query.visibility_changed',
  'query.purged',
  'query.access_denied',
  'dashboard.created',
  'dashboard.updated',
  'dashboard.restored',
  'dashboard.forked',
  'dashboard.archived',
  'dashboard.unarchived',
  'dashboard.settings_changed',
  'dashboard.purged',
  'auth.login',
  'auth.login_failed',
  'auth.logout',
  'auth.role_changed',
  'audit.read',
  'audit.exported',
  'system.started',
];

export interface AuditListItem {
  seq: string;
  occurredAt: string;
  actor: { id: string | null; email: string | null };
  action: string;
  dataSource: string | null;
  queryId: string | null;
  queryVersion: number | null;
  outcome: string | null;
  rowCount: string | null;
  durationMs: number | null;
  errorCode: string | null;
  sqlPreview: string | null;
  /** The access tier a run used (issue #13). */
  tier: string | null;
  /** A CSV download under a tier that reads sensitive columns. */
  sensitive: boolean;
}

export interface AuditDetail extends AuditListItem {
  sql: string | null;
  params: unknown;
  details: unknown;
  clientIp: string | null;
  hash: string;
  prevHash: string;
}

export interface Integrity {
  status: 'ok' | 'broken';
  eventsVerified: number;
  headSeq: string;
  fromSeq: string;
  full: boolean;
  firstBadSeq: string | null;
  problem: string | null;
  verifiedAt: string | null;
}

export interface ActivityDay {
  day: string;
  actor: { id: string | null; email: string | null };
  runs: number;
}

export interface UnclosedRuns {
  count: number;
  runs: Array<{ seq: string; runId: string; occurredAt: string; actor: { id: string | null; email: string | null } }>;
}

export class AuditReviewState {
  filters = $state<AuditFilters>(filtersFromSearch(window.location.search));
  events = $state.raw<AuditListItem[]>([]);
  nextCursor = $state<string | null>(null);
  loading = $state(false);
  error = $state<string | undefined>();
  selected = $state<AuditDetail | undefined>();
  integrity = $state<Integrity | undefined>();
  verifying = $state(false);
  activity = $state.raw<ActivityDay[]>([]);
  unclosed = $state.raw<UnclosedRuns | undefined>();

  csvUrl = $derived(`/api/audit.csv?${apiSearch(this.filters)}`);

  async search(): Promise<void> {
    const search = pageSearch(this.filters);
    window.history.replaceState(window.history.state, '', `${window.location.pathname}${search ? `?${search}` : ''}`);
    await this.load(undefined);
    void this.loadActivity();
    void this.loadUnclosed();
  }

  async loadUnclosed(): Promise<void> {
    this.unclosed = await api<UnclosedRuns>('/api/audit/unclosed-runs').catch(() => undefined);
  }

  async loadMore(): Promise<void> {
    if (this.nextCursor) await this.load(this.nextCursor);
  }

  private async load(cursor: string | undefined): Promise<void> {
    this.loading = true;
    this.error = undefined;
    try {
      const query = apiSearch(this.filters, cursor ? { cursor } : {});
      const page = await api<{ events: AuditListItem[]; nextCursor: string | null }>(`/api/audit?${query}`);
      this.events = cursor ? [...this.events, ...page.events] : page.events;
      this.nextCursor = page.nextCursor;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    } finally {
      this.loading = false;
    }
  }

  filterBy(key: FilterKey, value: string | null): void {
    if (!value) return;
    this.filters = { ...this.filters, [key]: value };
    void this.search();
  }

  clear(): void {
    this.filters = {};
    void this.search();
  }

  async open(seq: string): Promise<void> {
    this.selected = await api<AuditDetail>(`/api/audit/${seq}`);
  }

  close(): void {
    this.selected = undefined;
  }

  async verify(full: boolean): Promise<void> {
    this.verifying = true;
    try {
      this.integrity = await api<Integrity>(`/api/audit/verify${full ? '?full=true' : ''}`);
      // A full pass that succeeds clears the banner (integrity-status.ts); let it know now.
      if (full) void auditIntegrity.load();
    } finally {
      this.verifying = false;
    }
  }

  async loadActivity(): Promise<void> {
    const actor = this.filters.actor?.trim() ? `&actor=${encodeURIComponent(this.filters.actor.trim())}` : '';
    try {
      this.activity = (await api<{ days: ActivityDay[] }>(`/api/audit/activity?days=30${actor}`)).days;
    } catch (error) {
      // A chart that failed must not keep showing the previous filter's counts.
      this.activity = [];
      this.error = error instanceof Error ? error.message : String(error);
    }
  }
}

/** A new query's draft, handed to the query page through sessionStorage ("Open as a new query"). */
export const DRAFT_KEY = 'porthole:new-query-draft';

export function openAsNewQuery(event: AuditDetail): void {
  sessionStorage.setItem(
    DRAFT_KEY,
    JSON.stringify({ sql: event.sql ?? '', dataSource: event.dataSource ?? 'main', params: event.params ?? {} }),
  );
}
