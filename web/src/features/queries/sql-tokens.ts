// A small SQL tokenizer for highlighting one line at a time in the version diff (the editor has its own,
// CodeMirror's). Lines are tokenized separately, so a comment or string that spans lines is coloured
// from where the line shows it; good enough to read a diff, and never wrong about the text itself.

export type TokenKind = 'keyword' | 'string' | 'number' | 'comment' | 'variable' | 'identifier' | 'operator' | 'space';

export interface Token {
  kind: TokenKind;
  text: string;
}

const KEYWORDS = new Set(
  `select from where and or not in is null as on join left right inner outer full cross group by order having limit offset
  union all distinct case when then else end with insert update delete into values set create table view index drop alter
  asc desc between like ilike exists any some true false interval cast over partition window filter within lateral using
  natural returning explain analyze coalesce count sum avg min max date_trunc extract now current_date current_timestamp
  array fetch first next rows only recursive materialized except intersect nulls last`.split(/\s+/),
);

const RULES: Array<[TokenKind, RegExp]> = [
  ['space', /\s+/y],
  ['comment', /--.*/y],
  ['comment', /\/\*.*?(\*\/|$)/y],
  ['string', /'(?:[^']|'')*'?/y],
  ['string', /\$([A-Za-z_]\w*)?\$.*?(\$\1\$|$)/y],
  ['identifier', /"(?:[^"]|"")*"?/y],
  ['variable', /\{[A-Za-z_]\w*\}/y],
  ['number', /\d+(?:\.\d*)?(?:e[+-]?\d+)?\b/iy],
  ['identifier', /[A-Za-z_][\w$]*/y],
  ['operator', /::|<>|!=|<=|>=|\|\||[-+*/%<>=(),.;[\]{}:]/y],
];

export function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    let matched = false;
    for (const [kind, rule] of RULES) {
      rule.lastIndex = i;
      const match = rule.exec(line);
      if (!match || match[0].length === 0) continue;
      const text = match[0];
      tokens.push({ kind: kind === 'identifier' && KEYWORDS.has(text.toLowerCase()) ? 'keyword' : kind, text });
      i += text.length;
      matched = true;
      break;
    }
    if (!matched) {
      tokens.push({ kind: 'operator', text: line[i]! });
      i++;
    }
  }
  return tokens;
}

export interface Segment extends Token {
  /** Inside a word that changed against the other version's line. */
  changed: boolean;
}

/** Tokens cut at the edges of the changed ranges, so both the colour and the change mark show. */
export function segments(line: string, changed: ReadonlyArray<[number, number]> = []): Segment[] {
  const out: Segment[] = [];
  let position = 0;
  for (const token of tokenize(line)) {
    const end = position + token.text.length;
    const cuts = new Set([position, end]);
    for (const [s, e] of changed) {
      if (s > position && s < end) cuts.add(s);
      if (e > position && e < end) cuts.add(e);
    }
    const points = [...cuts].sort((x, y) => x - y);
    for (let p = 0; p < points.length - 1; p++) {
      const from = points[p]!;
      const to = points[p + 1]!;
      out.push({
        kind: token.kind,
        text: line.slice(from, to),
        changed: changed.some(([s, e]) => from >= s && to <= e),
      });
    }
    position = end;
  }
  return out;
}
