// Whether a read is waiting to be tried again because a database was unavailable (a restart): the shell
// shows "The database is unavailable, retrying…" meanwhile (DatabaseNotice.svelte).
export class DatabaseStatus {
  /** Reads waiting for their retry. */
  waiting = $state(0);

  get retrying(): boolean {
    return this.waiting > 0;
  }

  /** Runs `wait` while counted as a read waiting for its retry. */
  async during<T>(wait: () => Promise<T>): Promise<T> {
    this.waiting++;
    try {
      return await wait();
    } finally {
      this.waiting--;
    }
  }
}

export const databaseStatus = new DatabaseStatus();
