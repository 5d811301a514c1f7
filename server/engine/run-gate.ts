// The global concurrency cap of one data source on one task: as many runs execute as the source's pool has
// connections, a bounded number wait briefly for a turn, and anyone beyond that hears a 429 at once
// instead of piling up behind a saturated database.
import { AppError } from '../lib/errors.js';

interface Waiter {
  admit(): void;
  timer: NodeJS.Timeout;
}

export class RunGate {
  private running = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    readonly capacity: number,
    readonly maxWaiting: number,
    readonly maxWaitMs: number,
  ) {}

  get active(): number {
    return this.running;
  }

  /** Waits for a turn and returns the function that gives it back (call it exactly once). */
  async enter(): Promise<() => void> {
    if (this.running < this.capacity && this.queue.length === 0) {
      this.running++;
      return this.leaver();
    }
    if (this.queue.length >= this.maxWaiting) throw busy();
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          this.queue.splice(this.queue.indexOf(waiter), 1);
          reject(busy());
        }, this.maxWaitMs),
      };
      this.queue.push(waiter);
    });
    return this.leaver();
  }

  private leaver(): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.queue.shift();
      if (next)
        next.admit(); // the turn passes straight on; `running` stays the same
      else this.running--;
    };
  }
}

function busy(): AppError {
  return new AppError(429, 'engine_busy', 'The data source is busy with other queries right now; try again in a few seconds.', {
    retryAfterSeconds: 5,
  });
}
