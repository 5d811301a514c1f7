// State of a dashboard page: the dashboard, the variable values (mirrored in the URL so a link carries
// them), the cards' runs, auto-refresh while visible, edit mode with an optimistic save (409 -> the
// shared conflict dialog: keep mine on top of theirs, or take theirs), each card's settings (version pin,
// variable map), and what the owner does with the whole: sharing, history and restore, fork, archive.
import { api, ApiError } from '../../lib/api';
import { preloadChartRenderer } from '../../lib/chart/ChartView.svelte';
import {
  contentOf,
  dashboardsApi,
  type Card,
  type CardQuery,
  type DashboardContent,
  type DashboardVersion,
  type DashboardView,
  type Visibility,
} from './api';
import { CardRuns } from './card-runs.svelte';
import { currentValues, locationSearch, searchFor } from './values';

interface QueryViewForCard {
  id: string;
  url: string;
  currentVersion: number;
  version: { name: string; dataSource: string; variables: CardQuery['variables']; chart: unknown };
}

export class DashboardPageState {
  dashboard = $state<DashboardView>();
  error = $state<string>();
  values = $state<Record<string, string>>({});
  editing = $state(false);
  draft = $state<DashboardContent>();
  /** Queries of cards added while editing, until the save resolves them on the server. */
  addedQueries = $state<Record<string, CardQuery>>({});
  /** Cards whose version pin changed while editing: their query at the chosen version, until the save. */
  repinnedQueries = $state<Record<string, CardQuery>>({});
  /** The card whose settings dialog is open (edit mode). */
  settingsCard = $state<string>();
  /** Whether the history dialog is open. */
  historyOpen = $state(false);
  /** A short message after an action (restored, forked…), or why it failed. */
  notice = $state<string>();
  conflict = $state<{ theirs: DashboardVersion; mine: DashboardContent }>();
  saving = $state(false);
  saveError = $state<string>();
  now = $state(Date.now());
  readonly runs = new CardRuns((card) => this.dashboardIdFor(card));
  private timers: ReturnType<typeof setInterval>[] = [];

  readonly tv = locationSearch().get('tv') === '1';

  /** The saved dashboard a card's runs and downloads are recorded for; a card added in edit mode is not on
   * it yet, so until the save it runs as its query alone. */
  dashboardIdFor(card: Card): string | undefined {
    return card.id in this.addedQueries ? undefined : this.dashboard?.id;
  }

  get content(): DashboardContent | undefined {
    return this.editing ? this.draft : this.dashboard && contentOf(this.dashboard.version);
  }

  get queries(): Record<string, CardQuery | null> {
    return { ...(this.dashboard?.cardQueries ?? {}), ...this.repinnedQueries, ...this.addedQueries };
  }

  async load(id: string): Promise<void> {
    try {
      this.dashboard = await dashboardsApi.get(id);
      this.values = currentValues(this.dashboard.version.variables, locationSearch());
      this.runAll();
      // Vega loads and compiles while the cards' runs are on their way, not after the first one lands.
      if (this.dashboard.version.cards.some((card) => card.display === 'chart')) void preloadChartRenderer();
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : String(error);
    }
  }

  /** Starts the clock for "3 min ago" and the auto-refresh (every refreshSeconds, or 5 minutes on a TV). */
  start(): () => void {
    this.timers.push(setInterval(() => (this.now = Date.now()), 30_000));
    this.timers.push(
      setInterval(() => {
        const seconds = this.dashboard?.version.refreshSeconds ?? (this.tv ? 300 : null);
        if (!seconds || this.editing || document.visibilityState !== 'visible' || this.runs.busy) return;
        const oldest = Math.min(...Object.values(this.runs.states).map((s) => s.computedAt ?? Date.now()));
        if (Date.now() - oldest >= seconds * 1000) this.runAll(true);
      }, 5_000),
    );
    return () => {
      this.timers.forEach(clearInterval);
      this.runs.dispose();
    };
  }

  runAll(refresh = false): void {
    const content = this.content;
    if (content) this.runs.runAll(content.cards, this.queries, this.values, refresh);
  }

  refreshCard(card: Card): void {
    const query = this.queries[card.id];
    if (query) this.runs.runOne(card, query, this.values, true);
  }

  setValues(values: Record<string, string>): void {
    this.values = values;
    if (this.dashboard) {
      const search = searchFor(this.dashboard.version.variables, values, locationSearch());
      window.history.replaceState(window.history.state, '', window.location.pathname + search);
    }
    this.runAll();
  }

  // -- editing ------------------------------------------------------------------------------------------

  startEditing(): void {
    if (!this.dashboard) return;
    this.draft = structuredClone($state.snapshot(contentOf(this.dashboard.version)));
    this.editing = true;
  }

  cancelEditing(): void {
    this.leaveEditing();
    this.runAll();
  }

  private leaveEditing(): void {
    this.editing = false;
    this.draft = undefined;
    this.addedQueries = {};
    this.repinnedQueries = {};
    this.settingsCard = undefined;
  }

  /** Applies a card's settings dialog: the card as set there, and its query at the version it shows. */
  applyCardSettings(card: Card, query: CardQuery): void {
    if (!this.draft) return;
    const before = this.draft.cards.find((c) => c.id === card.id);
    this.updateCard(card);
    if (card.id in this.addedQueries) this.addedQueries[card.id] = query;
    else if (query.version !== this.queries[card.id]?.version) this.repinnedQueries[card.id] = query;
    this.settingsCard = undefined;
    const rerun =
      !before ||
      before.queryVersion !== card.queryVersion ||
      JSON.stringify(before.variableMap) !== JSON.stringify(card.variableMap);
    if (rerun) this.runs.runOne(card, query, this.values, false);
  }

  updateCard(card: Card): void {
    if (!this.draft) return;
    this.draft.cards = this.draft.cards.map((c) => (c.id === card.id ? card : c));
  }

  removeCard(id: string): void {
    if (this.draft) this.draft.cards = this.draft.cards.filter((c) => c.id !== id);
  }

  async addCard(queryId: string): Promise<void> {
    if (!this.draft) return;
    const query = await api<QueryViewForCard>(`/api/queries/${queryId}`);
    const id = `c${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
    const bottom = Math.max(0, ...this.draft.cards.map((c) => c.y + c.h));
    const card: Card = {
      id,
      queryId,
      queryVersion: null,
      title: null,
      display: query.version.chart ? 'chart' : 'table',
      x: 0,
      y: bottom,
      w: 6,
      h: 6,
      variableMap: {},
    };
    this.addedQueries[id] = {
      id: query.id,
      url: query.url,
      name: query.version.name,
      version: query.currentVersion,
      currentVersion: query.currentVersion,
      dataSource: query.version.dataSource,
      variables: query.version.variables,
      chart: query.version.chart,
    };
    this.draft.cards = [...this.draft.cards, card];
    // Variables declared in this edit have no value yet: their defaults apply.
    this.values = { ...currentValues(this.draft.variables, locationSearch()), ...this.values };
    this.runs.runOne(card, this.addedQueries[id]!, this.values, false);
  }

  async save(baseVersion = this.dashboard?.currentVersion): Promise<void> {
    if (!this.dashboard || !this.draft || baseVersion === undefined) return;
    this.saving = true;
    this.saveError = undefined;
    try {
      this.dashboard = await dashboardsApi.save(this.dashboard.id, baseVersion, $state.snapshot(this.draft));
      this.leaveEditing();
      this.conflict = undefined;
      this.values = currentValues(this.dashboard.version.variables, locationSearch());
      this.runAll();
    } catch (error) {
      if (error instanceof ApiError && error.code === 'version_conflict') {
        this.conflict = { theirs: error.details.currentVersion as DashboardVersion, mine: $state.snapshot(this.draft)! };
      } else this.saveError = error instanceof ApiError ? error.message : String(error);
    } finally {
      this.saving = false;
    }
  }

  /** Save the draft as the version after theirs. */
  keepMine(): Promise<void> {
    const theirs = this.conflict?.theirs;
    this.conflict = undefined;
    return this.save(theirs?.version);
  }

  /** Drop the draft and load what they saved. */
  async takeTheirs(): Promise<void> {
    this.conflict = undefined;
    this.leaveEditing();
    if (this.dashboard) await this.load(this.dashboard.id);
  }

  // -- the dashboard as a whole: sharing, history, fork, archive -----------------------------------------

  setVisibility(visibility: Visibility): Promise<void> {
    return this.act((id) => dashboardsApi.settings(id, { visibility }));
  }

  setLocked(locked: boolean): Promise<void> {
    return this.act((id) => dashboardsApi.settings(id, { locked }));
  }

  archive(): Promise<void> {
    return this.act((id) => dashboardsApi.archive(id));
  }

  unarchive(): Promise<void> {
    return this.act((id) => dashboardsApi.unarchive(id));
  }

  /** Deletes an archived dashboard for good (admins); resolves true when it is gone. */
  async purge(): Promise<boolean> {
    if (!this.dashboard) return false;
    try {
      await dashboardsApi.purge(this.dashboard.id);
      return true;
    } catch (error) {
      this.notice = message(error);
      return false;
    }
  }

  /** A copy of the current version owned by me; resolves with it (the page goes there). */
  async fork(): Promise<DashboardView | undefined> {
    if (!this.dashboard) return undefined;
    try {
      return await dashboardsApi.fork(this.dashboard.id);
    } catch (error) {
      this.notice = message(error);
      return undefined;
    }
  }

  /**
   * Saves an old version's content as the next version. Refused (409) when someone saved meanwhile: the
   * page then shows the newer dashboard and says so. Resolves true when restored.
   */
  async restore(version: number): Promise<boolean> {
    const dashboard = this.dashboard;
    if (!dashboard) return false;
    try {
      this.dashboard = await dashboardsApi.restore(dashboard.id, version, dashboard.currentVersion);
      this.notice = `Version ${version} restored as version ${this.dashboard.currentVersion}.`;
      this.historyOpen = false;
      this.values = currentValues(this.dashboard.version.variables, locationSearch());
      this.runAll();
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.code === 'version_conflict') {
        this.notice = `${error.message} Nothing was restored; the history now shows the newer version.`;
        await this.load(dashboard.id);
      } else this.notice = message(error);
      return false;
    }
  }

  /** A change to the dashboard's settings or state: the answer is the dashboard as it is now. */
  private async act(change: (id: string) => Promise<DashboardView>): Promise<void> {
    if (!this.dashboard) return;
    this.notice = undefined;
    try {
      this.dashboard = await change(this.dashboard.id);
    } catch (error) {
      this.notice = message(error);
    }
  }
}

const message = (error: unknown) => (error instanceof ApiError ? error.message : String(error));
