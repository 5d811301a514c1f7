// Error positions in the SQL a user wrote. PostgreSQL counts characters (code points), libpg-query counts
// characters in errors and UTF-8 bytes in statement locations, editors count UTF-16 units: these helpers
// translate between them and into the line and column people read.

export interface SqlPosition {
  /** 0-based UTF-16 offset into the SQL as the user wrote it (what the editor uses). */
  offset: number;
  /** 1-based line and column. */
  line: number;
  column: number;
}

/** UTF-16 offset of the code point with the given 0-based index. */
export function codePointToUtf16(text: string, codePoints: number): number {
  let offset = 0;
  for (let seen = 0; seen < codePoints && offset < text.length; seen++) {
    const code = text.charCodeAt(offset);
    offset += code >= 0xd800 && code <= 0xdbff && offset + 1 < text.length ? 2 : 1;
  }
  return offset;
}

/** UTF-16 offset of a 0-based UTF-8 byte offset. */
export function utf8ByteToUtf16(text: string, byteOffset: number): number {
  return Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8').length;
}

export function positionAt(text: string, offset: number): SqlPosition {
  const clamped = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < clamped; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset: clamped, line, column: clamped - lineStart + 1 };
}

/**
 * Maps offsets in rewritten SQL (variables replaced by $n) back to the SQL as written. Each edit replaced
 * original [from, to) with text of another length; offsets inside a replacement map to its start.
 */
export class OffsetMap {
  private readonly edits: Array<{ rewrittenStart: number; rewrittenEnd: number; originalStart: number; originalEnd: number }> =
    [];

  record(originalStart: number, originalEnd: number, rewrittenStart: number, rewrittenLength: number): void {
    this.edits.push({ rewrittenStart, rewrittenEnd: rewrittenStart + rewrittenLength, originalStart, originalEnd });
  }

  toOriginal(rewrittenOffset: number): number {
    let delta = 0;
    for (const edit of this.edits) {
      if (rewrittenOffset < edit.rewrittenStart) break;
      if (rewrittenOffset < edit.rewrittenEnd) return edit.originalStart;
      delta = edit.originalEnd - edit.rewrittenEnd;
    }
    return rewrittenOffset + delta;
  }
}
