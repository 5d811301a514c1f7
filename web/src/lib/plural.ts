// "1 run", "2 runs", "1,234 rows": a count with its noun in the right number, grouped in the user's locale.
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count.toLocaleString()} ${count === 1 ? singular : plural}`;
}
