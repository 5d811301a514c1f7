// The one HTML page the server renders itself: a failed sign-in, with the reason and a way to retry.
// Everything interpolated is escaped (THREATS.md 39).

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);

export function loginFailedPage(message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in failed · Porthole</title><link rel="icon" href="/favicon.svg"></head>
<body>
<main>
<h1>Sign-in failed</h1>
<p id="reason">${escapeHtml(message)}</p>
<p><a href="/auth/login">Try again</a> · <a href="/">Back to Porthole</a></p>
</main>
</body></html>`;
}
