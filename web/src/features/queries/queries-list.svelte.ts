// The list and search of saved queries (/queries): the filters live in the URL (?q=&filter=&tag=), so a
// search can be shared and the back button returns to it; typing searches after a short pause.
import { queriesApi, type ListedQuery, type ListFilter, type QueryList } from './api';
import { readListParams, writeListParams } from './urls';

const PAGE = 50;

export class QueryListState {
  search = $state('');
  filter = $state<ListFilter>('all');
  tag = $state('');
  archived = $state(false);
  queries = $state.raw<ListedQuery[]>([]);
  tags = $state.raw<NonNullable<QueryList['tags']>>([]);
  hasMore = $state(false);
  status = $state<'loading' | 'ready' | 'failed'>('loading');
  error = $state<string | undefined>();
  private controller: AbortController | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    const params = readListParams(window.location.search);
    this.search = params.search;
    this.filter = params.filter;
    this.tag = params.tag;
    this.archived = params.archived;
  }

  /** Loads the first page now (filters) or after a pause (typing). */
  reload(options: { debounce?: boolean } = {}): void {
    clearTimeout(this.timer);
    this.writeUrl();
    if (options.debounce) this.timer = setTimeout(() => void this.fetch(0), 250);
    else void this.fetch(0);
  }

  async more(): Promise<void> {
    await this.fetch(this.queries.length);
  }

  private async fetch(offset: number): Promise<void> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    if (offset === 0) this.status = 'loading';
    try {
      const list = await queriesApi.list(
        { q: this.search.trim(), filter: this.filter, tag: this.tag, archived: this.archived, limit: PAGE, offset },
        controller.signal,
      );
      if (controller.signal.aborted) return;
      this.queries = offset === 0 ? list.queries : [...this.queries, ...list.queries];
      if (list.tags) this.tags = list.tags;
      this.hasMore = list.hasMore;
      this.status = 'ready';
      this.error = undefined;
    } catch (error) {
      if (controller.signal.aborted) return;
      this.status = 'failed';
      this.error = error instanceof Error ? error.message : String(error);
    }
  }

  private writeUrl(): void {
    const search = writeListParams({ search: this.search, filter: this.filter, tag: this.tag, archived: this.archived });
    window.history.replaceState(window.history.state, '', `${window.location.pathname}${search}`);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.controller?.abort();
  }
}
