// The state of one query page (/queries/new or /queries/:id-:slug): the saved query, the draft being
// edited, and every way they meet. A save names the version the draft started from; when someone else
// saved meanwhile the server answers 409 and the page keeps both (`conflict`) until the user chooses.
// The draft is also kept in localStorage while it differs from what is saved, so closing the tab, the
// back button or a crash loses nothing: the next visit offers it back.
import { ApiError } from '../../lib/api';
import { DRAFT_KEY as HANDED_DRAFT_KEY } from '../audit/audit-review.svelte';
import { contentOf, queriesApi, type QueryContent, type QueryView, type VersionView, type Visibility } from './api';
import type { HandedRun } from './editor/run-state.svelte';
import { withSearchParams } from './urls';

interface StoredDraft {
  baseVersion: number | null;
  content: QueryContent;
  savedAt: number;
}

export const emptyContent = (): QueryContent => ({
  name: '',
  description: '',
  tags: [],
  dataSource: '',
  sql: '',
  variables: [],
  chart: null,
});

/** Content in the form the server stores it, so "unsaved changes" means a save would change something. */
function normalised(content: QueryContent): string {
  const tags = [...new Set(content.tags.map((t) => t.trim().replace(/\s+/g, ' ').toLowerCase()).filter(Boolean))];
  return JSON.stringify([
    content.name.trim(),
    content.description,
    tags,
    content.dataSource,
    content.sql,
    content.variables,
    content.chart,
  ]);
}

export function sameContent(a: QueryContent, b: QueryContent): boolean {
  return normalised(a) === normalised(b);
}

/**
 * A query just created on /queries/new, handed to the permalink page that takes over from it, so that
 * page neither fetches it again nor loses the "Saved." notice, and shows the run made before saving
 * instead of running the query again (saving is not running).
 */
let handoff: { query: QueryView; run?: HandedRun } | undefined;

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class QueryPageState {
  /** The query as last loaded or saved; undefined for a new query. */
  query = $state.raw<QueryView | undefined>();
  draft = $state<QueryContent>(emptyContent());
  /** The version the draft started from (may be older than query.currentVersion after a recovered draft). */
  baseVersion = $state<number | undefined>();
  /** For a new query. */
  visibility = $state<Visibility>('team');
  status = $state<'loading' | 'ready' | 'missing' | 'failed'>('loading');
  error = $state<string | undefined>();
  saving = $state(false);
  /** Someone saved after the draft's base version: theirs is current, mine is the draft. */
  conflict = $state.raw<{ theirs: VersionView; mine: QueryContent } | undefined>();
  /** The draft came back from local storage. */
  recovered = $state(false);
  notice = $state<string | undefined>();
  /** What the last change of visibility or lock did, said beside those switches. */
  settingNotice = $state<string | undefined>();
  /** The run the page this one took over from had finished (see `handoff`). */
  handedRun = $state.raw<HandedRun | undefined>();
  /** This page took over from /queries/new after a save: saving is not running, so it does not run on open. */
  takenOver = $state(false);
  /** What a new query starts as (its default data source): "unsaved" means different from this. */
  private blank = $state.raw<QueryContent>(emptyContent());

  readonly dirty = $derived(
    this.status === 'ready' && !sameContent(this.draft, this.query ? contentOf(this.query.version) : this.blank),
  );
  readonly canEdit = $derived(this.query ? this.query.permissions.edit && !this.query.archivedAt : true);
  /**
   * Why Save is off, in words the button shows: a name or SQL is missing, or there is nothing to save
   * (then the button says "Saved"). Undefined when a save would do something.
   */
  readonly saveBlocked = $derived.by((): { reason: string; saved?: true } | undefined => {
    const name = this.draft.name.trim();
    const sql = this.draft.sql.trim();
    if (!name && !sql) return { reason: 'Write some SQL and name this query to save it' };
    if (!name) return { reason: 'Name this query to save it' };
    if (!sql) return { reason: 'Write some SQL to save it' };
    if (this.query && !this.dirty) return { reason: `No changes since version ${this.query.currentVersion}`, saved: true };
    return undefined;
  });
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;
  private settingTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly id: string | undefined) {}

  private get storageKey(): string {
    return `porthole.query-draft:${this.query?.id ?? this.id ?? 'new'}`;
  }

  async load(defaults: Partial<QueryContent> = {}): Promise<void> {
    this.status = 'loading';
    if (!this.id) {
      this.blank = { ...emptyContent(), ...defaults };
      this.draft = { ...this.blank };
      if (!this.takeHandedDraft()) this.recover(null);
      this.status = 'ready';
      return;
    }
    if (handoff?.query.id === this.id) {
      this.accept(handoff.query);
      this.handedRun = handoff.run;
      this.takenOver = true;
      handoff = undefined;
      this.status = 'ready';
      this.flash('Saved.');
      return;
    }
    try {
      const query = await queriesApi.get(this.id);
      this.accept(query);
      this.recover(query.currentVersion);
      this.status = 'ready';
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.status = 'missing';
      else {
        this.status = 'failed';
        this.error = message(error);
      }
    }
  }

  /** Takes a query from the server as the new truth: the draft becomes its current version. */
  private accept(query: QueryView): void {
    this.query = query;
    this.draft = structuredClone(contentOf(query.version));
    this.baseVersion = query.currentVersion;
    this.conflict = undefined;
  }

  /** SQL handed over by another page ("Open as a new query" in the audit log), with its variable values. */
  private takeHandedDraft(): boolean {
    const raw = sessionStorage.getItem(HANDED_DRAFT_KEY);
    if (!raw) return false;
    sessionStorage.removeItem(HANDED_DRAFT_KEY);
    try {
      const handed = JSON.parse(raw) as { sql?: unknown; dataSource?: unknown; params?: Record<string, unknown> };
      if (typeof handed.sql !== 'string') return false;
      this.draft.sql = handed.sql;
      if (typeof handed.dataSource === 'string') this.draft.dataSource = handed.dataSource;
      window.history.replaceState(window.history.state, '', withSearchParams(window.location.href, handed.params ?? {}));
      return true;
    } catch {
      return false;
    }
  }

  private recover(currentVersion: number | null): void {
    const raw = localStorage.getItem(this.storageKey);
    if (!raw) return;
    try {
      const stored = JSON.parse(raw) as StoredDraft;
      const saved = this.query ? contentOf(this.query.version) : this.blank;
      if (sameContent(stored.content, saved)) {
        localStorage.removeItem(this.storageKey);
        return;
      }
      this.draft = { ...emptyContent(), ...stored.content };
      this.baseVersion = stored.baseVersion ?? currentVersion ?? undefined;
      this.recovered = true;
    } catch {
      localStorage.removeItem(this.storageKey);
    }
  }

  /** Called whenever the draft changes (an effect in the page): keeps or clears the local copy. */
  persistDraft(): void {
    if (this.status !== 'ready') return;
    if (!this.dirty) localStorage.removeItem(this.storageKey);
    else {
      const stored: StoredDraft = {
        baseVersion: this.baseVersion ?? null,
        content: $state.snapshot(this.draft),
        savedAt: Date.now(),
      };
      localStorage.setItem(this.storageKey, JSON.stringify(stored));
    }
  }

  discardDraft(): void {
    localStorage.removeItem(this.storageKey);
    this.recovered = false;
    if (this.query) this.accept(this.query);
    else this.draft = { ...this.blank };
  }

  /**
   * Saves the draft: a new query, or a new version based on baseVersion. Returns the saved query. `run`: the
   * run shown now, handed to a new query's permalink page.
   */
  async save(run?: () => HandedRun | undefined): Promise<QueryView | undefined> {
    if (this.saving || !this.canEdit) return undefined;
    if (this.query && !this.dirty) {
      this.flash(`Nothing to save: this is version ${this.query.currentVersion}.`);
      return this.query;
    }
    this.saving = true;
    this.error = undefined;
    const content = $state.snapshot(this.draft) as QueryContent;
    const draftKey = this.storageKey;
    const isNew = !this.query;
    try {
      const saved = this.query
        ? await queriesApi.save(this.query.id, this.baseVersion ?? this.query.currentVersion, content)
        : await queriesApi.create(content, this.visibility);
      localStorage.removeItem(draftKey);
      this.recovered = false;
      if (isNew) handoff = { query: saved, run: run?.() };
      this.accept(saved);
      this.flash(isNew ? 'Saved.' : `Saved version ${saved.currentVersion}.`);
      return saved;
    } catch (error) {
      if (error instanceof ApiError && error.code === 'version_conflict') {
        this.conflict = { theirs: error.details.currentVersion as VersionView, mine: content };
      } else this.error = message(error);
      return undefined;
    } finally {
      this.saving = false;
    }
  }

  /** Conflict, choice 1: save mine as the next version. Theirs stays in the history, one version back. */
  async keepMine(): Promise<void> {
    if (!this.conflict) return;
    this.baseVersion = this.conflict.theirs.version;
    this.conflict = undefined;
    await this.save();
  }

  /** Conflict, choice 2: drop mine and continue from theirs. */
  async takeTheirs(): Promise<void> {
    if (!this.query) return;
    localStorage.removeItem(this.storageKey);
    this.recovered = false;
    await this.refresh();
  }

  async refresh(): Promise<void> {
    if (!this.query) return;
    this.accept(await queriesApi.get(this.query.id));
  }

  /** Restores an old version as a new one; the page confirms first when the draft has unsaved changes. */
  async restore(version: number): Promise<boolean> {
    if (!this.query) return false;
    return this.act(async (query) => {
      const restored = await queriesApi.restore(query.id, version, query.currentVersion);
      this.accept(restored);
      this.flash(`Restored version ${version} as version ${restored.currentVersion}.`);
    });
  }

  /** Says what the switch did (or, for a new query, will do), so a change in a dropdown is not silent. */
  async setVisibility(visibility: Visibility): Promise<void> {
    if (!this.query) {
      this.visibility = visibility;
      this.flash(
        visibility === 'private'
          ? 'It will be saved as private: only you and admins can open it.'
          : 'It will be saved for the team: everyone signed in can open it.',
      );
      return;
    }
    const done = await this.act(async (query) => this.acceptSettings(await queriesApi.settings(query.id, { visibility })));
    if (done) {
      this.flashSetting(
        visibility === 'private'
          ? 'Now private: only you and admins can open it.'
          : 'Now shared with the team: everyone signed in can open it.',
      );
    }
  }

  async setLocked(locked: boolean): Promise<void> {
    const done = await this.act(async (query) => this.acceptSettings(await queriesApi.settings(query.id, { locked })));
    if (done) {
      this.flashSetting(
        locked ? 'Locked: only you (and admins) can save new versions.' : 'Unlocked: editors can save new versions.',
      );
    }
  }

  async archive(): Promise<void> {
    await this.act(async (query) => this.acceptSettings(await queriesApi.archive(query.id)));
  }

  async unarchive(): Promise<void> {
    await this.act(async (query) => this.acceptSettings(await queriesApi.unarchive(query.id)));
  }

  async fork(): Promise<QueryView | undefined> {
    let fork: QueryView | undefined;
    await this.act(async (query) => {
      fork = await queriesApi.fork(query.id);
    });
    return fork;
  }

  /** Settings do not touch the content: keep the draft as it is. */
  private acceptSettings(query: QueryView): void {
    this.query = query;
  }

  private async act(work: (query: QueryView) => Promise<void>): Promise<boolean> {
    const query = this.query;
    if (!query) return false;
    this.error = undefined;
    try {
      await work(query);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.code === 'version_conflict') {
        this.error = `${error.message} Reload to see it.`;
      } else this.error = message(error);
      return false;
    }
  }

  flash(text: string): void {
    this.notice = text;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (this.notice = undefined), 4000);
  }

  /** Beside the sharing settings (QueryMeta), where the change was made. */
  flashSetting(text: string): void {
    this.settingNotice = text;
    clearTimeout(this.settingTimer);
    this.settingTimer = setTimeout(() => (this.settingNotice = undefined), 6000);
  }
}

/** The id in a query permalink, /queries/:id or /queries/:id-:slug; undefined for any other path. */
export function queryIdFromPath(path: string): string | undefined {
  return /^\/queries\/(\d{1,18})(?:-[^/]*)?\/?$/.exec(path)?.[1];
}
