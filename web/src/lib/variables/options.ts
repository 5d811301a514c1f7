// Dropdown choices for a variable from a saved "options" query: its first column is the value, its
// second (when present) the label people see.
import { api } from '../api';
import type { RunResult } from '../grid/result';

export interface VariableOption {
  value: string;
  label: string;
}

export const MAX_OPTIONS = 1_000;

export function optionsFromResult(result: Pick<RunResult, 'rows'>): VariableOption[] {
  return result.rows.slice(0, MAX_OPTIONS).map((row) => {
    const value = row[0] === null || row[0] === undefined ? '' : String(row[0]);
    const label = row[1] === null || row[1] === undefined ? value : String(row[1]);
    return { value, label };
  });
}

export async function loadOptions(queryId: string, signal?: AbortSignal): Promise<VariableOption[]> {
  const result = await api<RunResult>('/api/runs', { method: 'POST', body: { queryId }, signal });
  return optionsFromResult(result);
}
