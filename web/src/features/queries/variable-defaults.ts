// A saved query's variable declarations as the page edits them: each holds an optional kind ("auto" when
// absent), list flag, options query and default value. A declaration left with none of these is dropped,
// so the stored version only names variables something was said about.
import type { VariableDeclaration } from './api';

export type DeclarationPatch = Partial<Omit<VariableDeclaration, 'name'>>;

const isEmpty = (declaration: VariableDeclaration) =>
  declaration.kind === undefined &&
  !declaration.multiple &&
  !declaration.optionsQueryId &&
  (declaration.default === undefined || declaration.default === '');

/** The declarations with one variable's fields changed (undefined or '' clears a field). */
export function updateDeclaration(
  variables: readonly VariableDeclaration[],
  name: string,
  patch: DeclarationPatch,
): VariableDeclaration[] {
  const index = variables.findIndex((v) => v.name === name);
  const merged: VariableDeclaration = { ...(variables[index] ?? { name }), ...patch };
  for (const key of ['kind', 'multiple', 'optionsQueryId', 'default'] as const) {
    if (merged[key] === undefined || merged[key] === '' || merged[key] === false) delete merged[key];
  }
  const others = variables.filter((v) => v.name !== name);
  if (isEmpty(merged)) return others;
  const next = [...variables];
  if (index === -1) next.push(merged);
  else next[index] = merged;
  return next;
}

/** Saved defaults by variable name. */
export function defaultsOf(variables: readonly VariableDeclaration[]): Record<string, string> {
  return Object.fromEntries(variables.flatMap((v) => (v.default !== undefined ? [[v.name, v.default]] : [])));
}

/** The declarations with these values as the defaults of these variables (an empty value clears one). */
export function withDefaults(
  variables: readonly VariableDeclaration[],
  values: Record<string, string>,
  names: readonly string[],
): VariableDeclaration[] {
  let next = [...variables];
  for (const name of names) next = updateDeclaration(next, name, { default: values[name]?.trim() || undefined });
  return next;
}
