// Where to send the user after login: only same-origin relative paths (THREATS.md 33). Anything else,
// like //evil.example, https://evil.example or /\evil, becomes "/".

export function safeReturnTo(candidate: unknown, publicUrl: string): string {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > 2048) return '/';
  // Browsers treat backslashes as slashes and drop tabs/newlines, so "/\evil" and "/\t/evil" mean //evil.
  const hasControlCharacter = [...candidate].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
  if (!candidate.startsWith('/') || candidate.startsWith('//') || candidate.includes('\\') || hasControlCharacter) return '/';
  const origin = new URL(publicUrl).origin;
  const resolved = new URL(candidate, origin);
  if (resolved.origin !== origin) return '/';
  return `${resolved.pathname}${resolved.search}${resolved.hash}`;
}
