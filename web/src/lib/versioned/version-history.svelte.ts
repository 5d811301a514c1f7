// The state of a versioned entity's history (a saved query's, a dashboard's): its versions, the two
// picked for comparing (A and B), the pair being compared and the restore under way. Versions are
// immutable, so each is fetched once.
import type { VersionSummaryResponse } from '../../../../server/versioned/schemas';

export type VersionSummary = VersionSummaryResponse;

/** What every version shares, whatever its content. */
export interface VersionHeader {
  version: number;
  author: VersionSummary['author'];
  createdAt: string;
  restoredFrom: number | null;
}

/** Where a history reads from: GET .../versions and GET .../versions/:n of one entity. */
export interface VersionSource<Version extends VersionHeader> {
  versions: () => Promise<{ versions: VersionSummary[] }>;
  version: (version: number) => Promise<Version>;
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class VersionHistory<Version extends VersionHeader> {
  versions = $state.raw<VersionSummary[]>([]);
  error = $state<string>();
  from = $state(0);
  to = $state(0);
  comparing = $state.raw<{ from: Version; to: Version }>();
  restoring = $state(false);
  // A cache of immutable versions, not state: nothing renders from it.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #loaded = new Map<number, Promise<Version>>();

  constructor(private readonly source: VersionSource<Version>) {}

  /** The compared versions that are not the current one: those a restore can bring back. */
  restorable(currentVersion: number): Version[] {
    return this.comparing ? [this.comparing.from, this.comparing.to].filter((v) => v.version !== currentVersion) : [];
  }

  /**
   * Lists the versions and picks the current one and the one before (run it in an $effect: the source's
   * call tracks the entity's id). With `compareAtOnce`, the pair is compared as soon as there are two.
   */
  load(currentVersion: number, options: { compareAtOnce?: boolean } = {}): void {
    this.source
      .versions()
      .then((list) => {
        this.versions = list.versions;
        this.to = currentVersion;
        this.from = Math.max(1, currentVersion - 1);
        if (options.compareAtOnce && currentVersion > 1) void this.compare(this.from, this.to);
      })
      .catch((e: unknown) => (this.error = messageOf(e)));
  }

  #version(version: number): Promise<Version> {
    let pending = this.#loaded.get(version);
    if (!pending) {
      pending = this.source.version(version);
      pending.catch(() => this.#loaded.delete(version));
      this.#loaded.set(version, pending);
    }
    return pending;
  }

  async compare(a = this.from, b = this.to): Promise<void> {
    this.error = undefined;
    try {
      const [older, newer] = await Promise.all([this.#version(a), this.#version(b)]);
      this.comparing = { from: older, to: newer };
    } catch (e) {
      this.error = messageOf(e);
    }
  }

  /** Restores through the page (which saves it as the next version); closes the comparison when it worked. */
  async restore(version: number, onrestore: (version: number) => Promise<boolean>): Promise<void> {
    this.restoring = true;
    try {
      if (await onrestore(version)) this.comparing = undefined;
    } finally {
      this.restoring = false;
    }
  }
}
