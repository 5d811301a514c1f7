// Result rows this task stored or read lately, unpacked, by run id, within a byte budget (least recently
// used out first). A stored result never changes, so rows found here are the row's body unpacked; the
// store still reads the entry's metadata from the tools DB on every hit (that read decides whether the
// entry exists, is fresh and belongs to the authorised query), and only skips fetching and unpacking it.
//
// Why unpacked: a hit then writes the very same bytes to the socket and allocates nothing. Unpacking on
// every hit allocated ~3 MB of ArrayBuffers for a 1 MB result, and V8 answers that much external memory
// with a full mark-compact every dozen hits (10-40 ms pauses on a 50 MB heap): most of a hit's time.

/**
 * What keeping rows costs: their whole backing memory, not their length (a view of a larger buffer keeps
 * all of it; a small buffer from Node's shared pool is counted at the pool's size, erring high).
 */
const retained = (rows: Buffer) => Math.max(rows.length, rows.buffer.byteLength);

export class RowsMemo {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(runId: string): Buffer | undefined {
    const found = this.entries.get(runId);
    if (found) {
      // Map order is insertion order: re-inserting makes it the most recently used.
      this.entries.delete(runId);
      this.entries.set(runId, found);
    }
    return found;
  }

  set(runId: string, rows: Buffer): void {
    if (retained(rows) > this.maxBytes) return;
    this.delete(runId);
    this.entries.set(runId, rows);
    this.bytes += retained(rows);
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= retained(entry);
    }
  }

  delete(runId: string): void {
    const found = this.entries.get(runId);
    if (!found) return;
    this.entries.delete(runId);
    this.bytes -= retained(found);
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}
