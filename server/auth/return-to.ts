// Where to send the user after login: only same-origin paths that start with exactly one slash
// (THREATS.md 33, 44). Anything else becomes "/".
//
// The decision is made on the path a URL parser produces, not on the spelling: "/a/..//evil",
// "/%2e%2e//evil" and "/.//evil" all normalise to "//evil", which a browser reads as another host.
// The path is also checked after percent-decoding (a router or proxy that decodes "/%2f/evil" or
// "/%5cevil" sees "//evil" or "/\evil"), and what we answer must parse back to itself.

const MAX_LENGTH = 2048;
/** How many layers of percent-encoding are peeled off before deciding ("%252f" is "%2f" once decoded). */
const DECODE_LAYERS = 3;
// Browsers drop tabs and newlines inside URLs and treat a backslash as a slash, so "/\t/evil" and
// "/\evil" mean "//evil"; other control characters have no place in a path either.
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTER = /[\u0000-\u001f\u007f\\]/;

function isSingleSlashPath(path: string): boolean {
  return path.startsWith('/') && !path.startsWith('//') && !UNSAFE_CHARACTER.test(path);
}

/**
 * Decodes every well-formed %XX escape byte by byte and leaves malformed ones alone, as a lenient router
 * would. Multi-byte characters come out garbled, which does not matter: the checks look only at ASCII.
 */
function decodePercentBytes(path: string): string {
  return path.replace(/%([\da-f]{2})/gi, (_escape, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** True when the path, and every percent-decoded form of it, normalises to a single-slash path. */
function staysSingleSlash(pathname: string, origin: string): boolean {
  let layer = pathname;
  for (let i = 0; i <= DECODE_LAYERS; i++) {
    if (!isSingleSlashPath(layer)) return false;
    const normalised = new URL(layer, origin);
    if (normalised.origin !== origin || !isSingleSlashPath(normalised.pathname)) return false;
    const decoded = decodePercentBytes(layer);
    if (decoded === layer) return true;
    layer = decoded;
  }
  return false; // still encoded after several layers: refuse rather than guess
}

export function safeReturnTo(candidate: unknown, publicUrl: string): string {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > MAX_LENGTH) return '/';
  if (!isSingleSlashPath(candidate)) return '/';
  const origin = new URL(publicUrl).origin;
  let resolved: URL;
  try {
    resolved = new URL(candidate, origin);
  } catch {
    return '/';
  }
  if (resolved.origin !== origin || !staysSingleSlash(resolved.pathname, origin)) return '/';
  const answer = `${resolved.pathname}${resolved.search}${resolved.hash}`;
  // The browser resolves our Location against the origin again: it must land exactly where we decided.
  if (new URL(answer, origin).href !== resolved.href) return '/';
  return answer;
}
