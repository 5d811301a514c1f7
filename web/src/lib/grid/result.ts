// The shape of a run's result as POST /api/runs answers it (issue #4), shared by the grid and the chart.

/** How the engine classifies a column: decides alignment, formatting and the chart. */
export type ColumnKind = 'number' | 'string' | 'time' | 'date' | 'boolean' | 'json' | 'binary';

export interface ResultColumn {
  name: string;
  type: ColumnKind;
  /** PostgreSQL's type name for built-in types (int8, timestamptz, ...). */
  dbType?: string;
}

/** Values are lossless: int8 and numeric arrive as strings, timestamps as ISO 8601 strings. */
export type CellValue = string | number | boolean | null;
export type ResultRow = CellValue[];

export interface RunResult {
  id: string;
  statement?: 'select' | 'explain' | 'show';
  columns: ResultColumn[];
  rows: ResultRow[];
  rowCount: number;
  truncated: boolean;
  truncatedBy?: string;
  durationMs: number;
}
