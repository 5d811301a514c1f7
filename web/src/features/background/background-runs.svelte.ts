// The user's background runs as the editor shows them: started here (or in another tab, or by a script),
// polled while any is unfinished, with a browser notification when one ends. The list comes from the
// server, so closing the page loses nothing.
import { api } from '../../lib/api';
import type { RunResult } from '../../lib/grid/result';
import type { BackgroundRunJson, BackgroundStartedJson } from '../../../../server/background/schemas';
import type { RunRequest } from '../queries/editor/run-state.svelte';

const POLL_MS = 2000;
const UNFINISHED = new Set(['queued', 'running']);

export class BackgroundRunsState {
  runs = $state.raw<BackgroundRunJson[]>([]);
  error = $state<string | undefined>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Runs seen unfinished in this page: only their end is announced. Bookkeeping, never rendered. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  private watching = new Set<string>();

  async refresh(): Promise<void> {
    try {
      const { runs } = await api<{ runs: BackgroundRunJson[] }>('/api/runs/background');
      for (const run of runs) {
        if (UNFINISHED.has(run.status)) this.watching.add(run.id);
        else if (this.watching.delete(run.id)) announce(run);
      }
      this.runs = runs;
      this.error = undefined;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
    clearTimeout(this.timer);
    if (this.runs.some((run) => UNFINISHED.has(run.status))) this.timer = setTimeout(() => void this.refresh(), POLL_MS);
  }

  async start(request: RunRequest): Promise<BackgroundStartedJson> {
    if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission();
    const started = await api<BackgroundStartedJson>('/api/runs', { method: 'POST', body: { ...request, background: true } });
    this.watching.add(started.id);
    await this.refresh();
    return started;
  }

  async cancel(id: string): Promise<void> {
    await api(`/api/runs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
    await this.refresh();
  }

  /** A finished run's rows, for the results grid. */
  async result(id: string): Promise<RunResult> {
    return api<RunResult>(`/api/runs/${encodeURIComponent(id)}/result?format=json`);
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

export function csvUrl(id: string): string {
  return `/api/runs/${encodeURIComponent(id)}/result?format=csv`;
}

function announce(run: BackgroundRunJson): void {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const what = run.queryName ?? run.sqlPreview.slice(0, 60);
  const body =
    run.status === 'succeeded'
      ? `${run.rowCount ?? 0} rows: ${what}`
      : `${run.status}${run.error ? ` (${run.error.message})` : ''}: ${what}`;
  new Notification('Porthole: background query finished', { body, tag: run.id });
}
