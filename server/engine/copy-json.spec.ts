import { describe, expect, it } from 'vitest';
import { CopyJsonBatch } from './copy-json.js';

const TEXT = 25;
const INT4 = 23;

describe('CopyJsonBatch', () => {
  it('hands over exactly the bytes of each batch, and later batches leave earlier ones intact', () => {
    const batch = new CopyJsonBatch([INT4, TEXT]);
    const label = 'x'.repeat(100);
    for (let i = 0; i < 10_000; i++) batch.add(Buffer.from(`${i}\t${label}\n`));
    const first = batch.take();
    // Its own memory, no larger than the JSON: a view of the growing working buffer would keep up to
    // twice the bytes alive until the socket took them and a GC ran.
    expect(first.rows).toBe(10_000);
    expect(first.json.buffer.byteLength).toBe(first.json.length);
    const firstText = first.json.toString();
    expect(firstText.startsWith(`[0,"${label}"],[1,"${label}"]`)).toBe(true);

    // The working buffer is reused for the next batch: the first one must not change.
    for (let i = 0; i < 10_000; i++) batch.add(Buffer.from(`${-i}\t${'y'.repeat(100)}\n`));
    const second = batch.take();
    expect(first.json.toString()).toBe(firstText);
    expect(second.json.toString().startsWith(`[0,"${'y'.repeat(100)}"],[-1,`)).toBe(true);
  });

  it('cuts a batch at the byte cap on a row boundary', () => {
    const batch = new CopyJsonBatch([INT4]);
    for (let i = 1; i <= 3; i++) batch.add(Buffer.from(`${i}\n`));
    expect(batch.take(8)).toMatchObject({ rows: 2 });
    batch.add(Buffer.from('4\n'));
    const next = batch.take();
    expect(next.json.toString()).toBe('[4]');
  });
});
