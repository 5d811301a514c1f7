// A run executing in this task, as cancel() reaches it, and the text clean-up for what the audit log
// stores about runs refused before they started.
import type { Execution } from './executor.js';
import type { CancelReason } from './run-errors.js';

/** Who asked for a cancel: the run's owner, or an admin (the owner is told which one). */
export interface Canceller {
  id: string;
  email: string | null;
  name: string | null;
}

/** A run executing in this process: what cancel() needs to reach it. */
export class LiveRun {
  cancelReason?: CancelReason;
  cancelledBy?: Canceller;
  execution?: Execution;
  readonly ended: Promise<void>;
  end!: () => void;

  constructor(
    readonly id: string,
    readonly userId: string,
  ) {
    this.ended = new Promise((resolve) => (this.end = resolve));
  }

  cancel(reason: CancelReason, by?: Canceller): void {
    if (this.cancelReason) return;
    this.cancelReason = reason;
    this.cancelledBy = by;
    this.execution?.cancel(reason);
  }

  /** Throws when the run was cancelled before its query started. */
  check(): void {
    if (this.cancelReason) throw new CancelledBeforeStart();
  }
}

export class CancelledBeforeStart extends Error {}

/** Text the tools DB can store: NUL characters and lone surrogates (refused SQL may hold them) replaced. */
export function storable<T>(value: T): T {
  if (typeof value === 'string') {
    return value.replace(/\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD') as T;
  }
  if (Array.isArray(value)) return value.map(storable) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k), storable(v)])) as T;
  }
  return value;
}
