// CSV encoding (RFC 4180): fields with a comma, quote, CR or LF are quoted and quotes doubled. NULL is an
// empty field. By default values are written as they are (an export must be faithful); exports opened by
// people in a spreadsheet and holding text others control (the audit log) neutralise formulas instead.

export interface CsvOptions {
  /**
   * Prefix `'` to a field that begins with `=`, `+`, `-`, `@`, tab or carriage return, so a spreadsheet
   * shows it as text instead of evaluating it (OWASP "CSV injection"; THREATS.md 51).
   */
  neutraliseFormulas?: boolean;
}

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: unknown, options: CsvOptions = {}): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  let text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (options.neutraliseFormulas && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: readonly unknown[], options: CsvOptions = {}): string {
  return `${values.map((value) => csvField(value, options)).join(',')}\r\n`;
}
