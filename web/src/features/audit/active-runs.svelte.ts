// Queries running now on every Porthole task (admins): polled while the page is open, cancellable.
import { api } from '../../lib/api';

export interface ActiveRunView {
  id: string;
  userId: string;
  userEmail: string | null;
  dataSource: string;
  queryId: string | null;
  queryVersion: number | null;
  sql: string;
  format: 'json' | 'csv';
  startedAt: string;
  cancelRequestedAt: string | null;
}

const POLL_MS = 3000;

export class ActiveRunsState {
  runs = $state.raw<ActiveRunView[]>([]);
  now = $state(Date.now());
  error = $state<string | undefined>();
  cancelling = $state<Record<string, boolean>>({});

  async refresh(): Promise<void> {
    try {
      this.runs = (await api<{ runs: ActiveRunView[] }>('/api/runs/active')).runs;
      this.error = undefined;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
  }

  /** Starts polling and the elapsed-time clock; returns the stop function (for $effect). */
  watch(): () => void {
    void this.refresh();
    const poll = setInterval(() => {
      if (document.visibilityState === 'visible') void this.refresh();
    }, POLL_MS);
    const tick = setInterval(() => (this.now = Date.now()), 1000);
    return () => {
      clearInterval(poll);
      clearInterval(tick);
    };
  }

  async cancel(id: string): Promise<void> {
    this.cancelling = { ...this.cancelling, [id]: true };
    try {
      await api(`/api/runs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
      await this.refresh();
    } finally {
      this.cancelling = { ...this.cancelling, [id]: false };
    }
  }
}

export function elapsed(startedAt: string, now: number): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(startedAt)) / 1000));
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
