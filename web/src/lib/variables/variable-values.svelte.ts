// The values typed into the variables form, mirrored into the page's URL (replaceState, so typing does not
// flood the history) and read back from it, so a link to a query carries its variables.
import { untrack } from 'svelte';
import { readFromUrl, writeToUrl } from './variables';

export class VariableValues {
  values = $state<Record<string, string>>({});

  /**
   * Takes the values the URL carries for these names (the URL wins over what was typed before), and a
   * saved default for each name that has no value yet (a cleared field stays cleared).
   */
  readUrl(names: string[], defaults: Record<string, string> = {}): void {
    const fromUrl = readFromUrl(window.location.search, names);
    // Called from effects that track `names`: reading the current values must not subscribe them.
    untrack(() => {
      const unset = names.filter((name) => !(name in this.values) && defaults[name] !== undefined);
      this.values = { ...Object.fromEntries(unset.map((name) => [name, defaults[name]!])), ...this.values, ...fromUrl };
    });
  }

  set(name: string, value: string): void {
    this.values = { ...this.values, [name]: value };
    const search = writeToUrl(window.location.search, this.values, [name]);
    window.history.replaceState(window.history.state, '', `${window.location.pathname}${search}${window.location.hash}`);
  }

  /** The params to send with a run: only the variables the SQL uses. */
  params(names: string[]): Record<string, string> {
    return Object.fromEntries(names.map((name) => [name, this.values[name] ?? '']));
  }

  missing(names: string[]): string[] {
    return names.filter((name) => !this.values[name]);
  }
}
