// What an alert says, once, rendered for each channel: an email (text and HTML parts), a Slack Block
// Kit message and the generic webhook's JSON body.
export interface AlertMessage {
  check: { id: string; name: string };
  state: string;
  previousState: string | null;
  reason: string;
  reminder: boolean;
  query: { id: string; name: string; version: number | null };
  params: Record<string, unknown>;
  /** The first rows, or null when ALERTS_INCLUDE_ROWS=false. */
  columns: string[] | null;
  rows: unknown[][] | null;
  rowCount: number | null;
  runAt: string;
  /** The query page with the check's parameters. */
  url: string;
  checkUrl: string;
}

export const ALERT_ROWS = 10;

const STATE_WORDS: Record<string, string> = {
  ok: 'OK',
  failing: 'FAILING',
  error: 'in ERROR',
  timed_out: 'TIMED OUT',
  disabled: 'disabled',
  pending: 'pending',
};

export function subjectOf(message: AlertMessage): string {
  const prefix = message.reminder ? 'Reminder: ' : '';
  return `${prefix}[Porthole] ${message.check.name} is ${STATE_WORDS[message.state] ?? message.state}`;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function paramsText(params: Record<string, unknown>): string {
  const entries = Object.entries(params);
  return entries.length ? entries.map(([k, v]) => `${k}=${cell(v)}`).join(', ') : 'none';
}

export function emailText(message: AlertMessage): string {
  const lines = [
    subjectOf(message),
    '',
    `State: ${message.state}${message.previousState ? ` (was ${message.previousState})` : ''}`,
    `Why: ${message.reason}`,
    `Query: ${message.query.name} (parameters: ${paramsText(message.params)})`,
    `Run at: ${message.runAt}`,
    '',
  ];
  if (message.rows && message.columns) {
    lines.push(`First ${message.rows.length} of ${message.rowCount ?? message.rows.length} rows:`, message.columns.join('\t'));
    for (const row of message.rows) lines.push(row.map(cell).join('\t'));
    lines.push('');
  }
  lines.push(`Open the query: ${message.url}`, `The check: ${message.checkUrl}`);
  return lines.join('\n');
}

export function emailHtml(message: AlertMessage): string {
  const table =
    message.rows && message.columns
      ? `<p>First ${message.rows.length} of ${message.rowCount ?? message.rows.length} rows:</p>
<table border="1" cellpadding="4" cellspacing="0"><thead><tr>${message.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead>
<tbody>${message.rows.map((row) => `<tr>${row.map((v) => `<td>${escapeHtml(cell(v))}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`
      : '';
  return `<!doctype html><html><body>
<h2>${escapeHtml(subjectOf(message))}</h2>
<p><strong>State:</strong> ${escapeHtml(message.state)}${message.previousState ? ` (was ${escapeHtml(message.previousState)})` : ''}</p>
<p><strong>Why:</strong> ${escapeHtml(message.reason)}</p>
<p><strong>Query:</strong> ${escapeHtml(message.query.name)} (parameters: ${escapeHtml(paramsText(message.params))})</p>
${table}
<p><a href="${escapeHtml(message.url)}">Open the query</a> · <a href="${escapeHtml(message.checkUrl)}">The check</a></p>
</body></html>`;
}

export function slackBody(message: AlertMessage): string {
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: subjectOf(message).slice(0, 150) } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*State*\n${message.state}${message.previousState ? ` (was ${message.previousState})` : ''}` },
        { type: 'mrkdwn', text: `*Query*\n<${message.url}|${message.query.name}>` },
      ],
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*Why*\n${message.reason}` } },
  ];
  if (message.rows && message.columns) {
    const table = [message.columns.join(' | '), ...message.rows.map((row) => row.map(cell).join(' | '))].join('\n');
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${table.slice(0, 2900)}\`\`\`` } });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${message.checkUrl}|The check> · ${message.runAt}` }] });
  return JSON.stringify({ text: subjectOf(message), blocks });
}

export function webhookBody(message: AlertMessage): string {
  return JSON.stringify({
    check: message.check,
    state: message.state,
    previousState: message.previousState,
    reason: message.reason,
    reminder: message.reminder,
    query: message.query,
    params: message.params,
    columns: message.columns,
    rows: message.rows,
    runAt: message.runAt,
    url: message.url,
  });
}
