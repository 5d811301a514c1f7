// Compressed result bodies this task stored or read lately, by run id, within a byte budget (least
// recently used out first). A stored result never changes, so a body found here is the row's body; the
// store still reads the row's metadata from the tools DB on every hit (that read decides whether the
// entry exists, is fresh and belongs to the authorised query), and only skips fetching the body again.
import type { ResultEncoding } from './repository.js';

export interface PackedBody {
  encoding: ResultEncoding;
  body: Buffer;
}

/**
 * What keeping a body costs: its whole backing memory, not its length (a view of a larger buffer keeps
 * all of it; a small buffer from Node's shared pool is counted at the pool's size, erring high).
 */
const retained = (packed: PackedBody) => Math.max(packed.body.length, packed.body.buffer.byteLength);

export class BodyMemo {
  private readonly entries = new Map<string, PackedBody>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(runId: string): PackedBody | undefined {
    const found = this.entries.get(runId);
    if (found) {
      // Map order is insertion order: re-inserting makes it the most recently used.
      this.entries.delete(runId);
      this.entries.set(runId, found);
    }
    return found;
  }

  set(runId: string, packed: PackedBody): void {
    if (retained(packed) > this.maxBytes) return;
    this.delete(runId);
    this.entries.set(runId, packed);
    this.bytes += retained(packed);
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
