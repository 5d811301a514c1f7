// Runs a dashboard's cards: each card's result or error on its own, at most MAX_CONCURRENT running at once
// per page (the per-user cap is 5, so a dashboard never meets a 429 by itself), cards drawn as they finish.
import { ApiError } from '../../lib/api';
import { dashboardsApi, type Card, type CardQuery, type CardRun } from './api';
import { cardParams } from './values';

export const MAX_CONCURRENT = 4;

export interface CardState {
  status: 'idle' | 'queued' | 'running' | 'done' | 'error';
  result?: CardRun;
  error?: string;
  /** When the result shown was computed (now, or when the cache computed it), in ms since the epoch. */
  computedAt?: number;
  params: Record<string, unknown>;
}

export class CardRuns {
  // Raw, replaced whole on every change: a card's rows (up to MAX_ROWS) must not become deep proxies.
  states = $state.raw<Record<string, CardState>>({});
  private queue: Array<() => Promise<void>> = [];
  private running = 0;
  private controller = new AbortController();
  /** Counts every run started, for the page's "all cards drawn" signal in tests and the benchmark. */
  generation = $state(0);

  /** `dashboardFor(card)`: the saved dashboard a card belongs to; undefined for a card not saved yet. */
  constructor(private readonly dashboardFor: (card: Card) => string | undefined) {}

  /** Runs every card with the current values; refresh skips the result cache. */
  runAll(cards: Card[], queries: Record<string, CardQuery | null>, values: Record<string, string>, refresh = false): void {
    this.controller.abort();
    this.controller = new AbortController();
    this.queue = [];
    this.generation++;
    const next: Record<string, CardState> = {};
    for (const card of cards) {
      const query = queries[card.id];
      next[card.id] = { status: query ? 'queued' : 'idle', params: query ? cardParams(card, query, values) : {} };
    }
    this.states = next;
    for (const card of cards) {
      const query = queries[card.id];
      if (query) this.enqueue(card, query, values, refresh);
    }
  }

  runOne(card: Card, query: CardQuery, values: Record<string, string>, refresh = true): void {
    this.set(card.id, { status: 'queued', params: cardParams(card, query, values) });
    this.enqueue(card, query, values, refresh);
  }

  get busy(): boolean {
    return Object.values(this.states).some((s) => s.status === 'queued' || s.status === 'running');
  }

  private set(cardId: string, state: CardState): void {
    this.states = { ...this.states, [cardId]: state };
  }

  dispose(): void {
    this.controller.abort();
    this.queue = [];
  }

  private enqueue(card: Card, query: CardQuery, values: Record<string, string>, refresh: boolean): void {
    const signal = this.controller.signal;
    const params = cardParams(card, query, values);
    this.queue.push(async () => {
      if (signal.aborted) return;
      this.set(card.id, { status: 'running', params });
      const dashboardId = this.dashboardFor(card);
      try {
        const result = await dashboardsApi.runCard(
          {
            queryId: query.id,
            ...(card.queryVersion ? { queryVersion: card.queryVersion } : {}),
            params,
            ...(dashboardId ? { dashboardId } : {}),
            ...(refresh ? { refresh: true } : {}),
          },
          signal,
        );
        if (signal.aborted) return;
        const computedAt = result.cached ? Date.parse(result.cached.computedAt) : Date.now();
        this.set(card.id, { status: 'done', result, computedAt, params });
      } catch (error) {
        if (signal.aborted) return;
        const message = error instanceof ApiError ? error.message : String(error);
        this.set(card.id, { status: 'error', error: message, params });
      }
    });
    this.pump();
  }

  private pump(): void {
    while (this.running < MAX_CONCURRENT && this.queue.length > 0) {
      const task = this.queue.shift()!;
      this.running++;
      void task().finally(() => {
        this.running--;
        this.pump();
      });
    }
  }
}
