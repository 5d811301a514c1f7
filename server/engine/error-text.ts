// Bounds on text that comes from a run and goes back to the client or into the audit log (THREATS.md 49).
// PostgreSQL copies offending values into its messages, so one statement can raise a multi-megabyte error;
// the client and the append-only audit log get a few kilobytes of it, with the cut marked.

/** Bytes of UTF-8 kept of an error's message, detail or hint. */
export const MAX_ERROR_TEXT_BYTES = 4 * 1024;
/** Bytes of UTF-8 kept of SQL stored with a refused run (accepted SQL is limited by MAX_SQL_LENGTH already). */
export const MAX_STORED_SQL_BYTES = 128 * 1024;

/**
 * `text` if it fits in `maxBytes` of UTF-8, else its first `maxBytes` bytes (never splitting a character)
 * followed by "… [cut: N bytes]", N being how many bytes were left out.
 */
export function capText(text: string, maxBytes: number = MAX_ERROR_TEXT_BYTES): string {
  // A UTF-16 unit is at most 3 bytes of UTF-8: shorter strings fit without counting.
  if (text.length * 3 <= maxBytes) return text;
  const total = Buffer.byteLength(text, 'utf8');
  if (total <= maxBytes) return text;
  const head = Buffer.from(text.slice(0, maxBytes), 'utf8').subarray(0, maxBytes);
  let end = head.length;
  // Back off to the start of a character: continuation bytes are 10xxxxxx.
  while (end > 0 && (head[end - 1]! & 0xc0) === 0x80) end--;
  if (end > 0 && head[end - 1]! >= 0xc0) end--;
  const kept = head.subarray(0, end).toString('utf8');
  return `${kept}… [cut: ${(total - end).toLocaleString('en-US')} bytes]`;
}

/** The same for an optional value. */
export function capOptional(text: string | undefined): string | undefined {
  return text === undefined ? undefined : capText(text);
}
