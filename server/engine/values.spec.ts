import { describe, expect, it } from 'vitest';
import { columnInfo, convertRows, converterFor, csvField, csvLine, floatJson, isoTimestamp } from './values.js';

describe('result values', () => {
  it('gives each column a kind for the UI', () => {
    expect(columnInfo('n', 20)).toEqual({ name: 'n', type: 'number', dbType: 'int8' });
    expect(columnInfo('t', 1184).type).toBe('time');
    expect(columnInfo('d', 1082).type).toBe('date');
    expect(columnInfo('b', 16).type).toBe('boolean');
    expect(columnInfo('j', 3802).type).toBe('json');
    expect(columnInfo('x', 17).type).toBe('binary');
    expect(columnInfo('custom_enum', 987654)).toEqual({ name: 'custom_enum', type: 'string' });
  });

  it('never rounds 64-bit integers or numerics, and keeps floats exact', () => {
    const rows = convertRows(
      [['9223372036854775807', '12345678901234567890.123456789', '0.1', '2147483647', 'NaN', null]],
      [20, 1700, 701, 23, 701, 23].map(converterFor),
    );
    expect(rows[0]).toEqual(['9223372036854775807', '12345678901234567890.123456789', 0.1, 2147483647, 'NaN', null]);
  });

  it('writes a float as JSON exactly as String() of the number (the JSON of the COPY path)', () => {
    const texts = [
      '0',
      '-0',
      '0.1',
      '333.3333333333333',
      '-2.5',
      '1e+21',
      '1.5e-07',
      '5e-324',
      '1.7976931348623157e+308',
      '123456789012',
    ];
    for (let i = 1; i < 2000; i++) texts.push(String((i * 7919) / 3), String(-i / 7), (i * 1e-9).toExponential());
    for (const text of texts) expect(floatJson(text)).toBe(String(Number(text)));
    expect(floatJson('NaN')).toBe('"NaN"');
    expect(floatJson('-Infinity')).toBe('"-Infinity"');
  });

  it('prints floats in JavaScript notation with PostgreSQL digits', () => {
    const texts = [
      '1.5e-07',
      '1e+21',
      '-1.25e+22',
      '1e+15',
      '1.2345e+17',
      '1.2345678901234567e+15',
      '-2.5e-05',
      '1e-06',
      '-1.2499999999999999e+22',
    ];
    const rows = convertRows(
      [[...texts]], // converted in place
      texts.map(() => converterFor(701)),
    );
    expect(JSON.stringify(rows[0])).toBe(
      '[1.5e-7,1e+21,-1.25e+22,1000000000000000,123450000000000000,1234567890123456.7,-0.000025,0.000001,-1.2499999999999999e+22]',
    );
    // Every one is the same double as PostgreSQL's text, whatever the notation.
    expect((JSON.parse(JSON.stringify(rows[0])) as number[]).map(String)).toEqual(texts.map((t) => String(Number(t))));
  });

  it('writes timestamps as ISO 8601 with their full precision', () => {
    expect(isoTimestamp('2024-01-31 09:30:00.123456+00')).toBe('2024-01-31T09:30:00.123456Z');
    expect(isoTimestamp('2024-01-31 09:30:00+05:30')).toBe('2024-01-31T09:30:00+05:30');
    expect(isoTimestamp('2024-01-31 09:30:00-08')).toBe('2024-01-31T09:30:00-08:00');
    expect(isoTimestamp('2024-01-31 09:30:00')).toBe('2024-01-31T09:30:00');
    expect(isoTimestamp('infinity')).toBe('infinity');
    expect(convertRows([['t', 'f']], [16, 16].map(converterFor))[0]).toEqual([true, false]);
  });

  it('formats CSV exactly like COPY (FORMAT csv)', () => {
    expect(csvField(null)).toBe('');
    expect(csvField('')).toBe('""');
    expect(csvField('plain text')).toBe('plain text');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('\\.')).toBe('"\\."');
    expect(csvLine(['1', null, 'x'])).toBe('1,,x\n');
  });
});
