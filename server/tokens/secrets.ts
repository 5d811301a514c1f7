// Token secrets: a recognisable prefix and 40 random base62 characters (about 238 bits), so secret
// scanners can find leaked ones by the pattern ph[tc]_[0-9A-Za-z]{40} and a plain SHA-256 is a safe
// lookup key. `pht_` is a personal access token; `phc_` a CSV link's key.
import { createHash, randomBytes } from 'node:crypto';
import type { TokenKind } from '../auth/principal.js';

export const TOKEN_PREFIX: Readonly<Record<TokenKind, string>> = { personal: 'pht_', csv_link: 'phc_' };
export const SECRET_PATTERN = /^ph[tc]_[0-9A-Za-z]{40}$/;
/** Anything that looks like one of our secrets, wherever it appears (query strings are checked for it). */
export const LOOKS_LIKE_SECRET = /ph[tc]_[0-9A-Za-z]{20,}/;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 40;

export function newSecret(kind: TokenKind): string {
  let body = '';
  while (body.length < BODY_LENGTH) {
    for (const byte of randomBytes(64)) {
      // 248 = 4 * 62: bytes above it are skipped so every character is equally likely.
      if (byte < 248 && body.length < BODY_LENGTH) body += ALPHABET[byte % 62];
    }
  }
  return `${TOKEN_PREFIX[kind]}${body}`;
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** What the list shows of a secret: its prefix and first four characters. */
export function secretHint(secret: string): string {
  return `${secret.slice(0, 8)}…`;
}
