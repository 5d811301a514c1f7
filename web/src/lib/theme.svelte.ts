// Light or dark: follows the system unless the user picks one, which is remembered in this browser. The
// choice is a data-theme attribute on <html> that app.css keys its colour variables on.
export type ThemePreference = 'system' | 'light' | 'dark';

const STORAGE_KEY = 'porthole.theme';
const PREFERENCES: ThemePreference[] = ['system', 'light', 'dark'];

function stored(): ThemePreference {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return PREFERENCES.includes(value as ThemePreference) ? (value as ThemePreference) : 'system';
  } catch {
    return 'system';
  }
}

export class ThemeState {
  preference = $state<ThemePreference>(stored());
  private systemDark = $state(false);
  /** What is shown now. */
  readonly resolved = $derived<'light' | 'dark'>(
    this.preference === 'system' ? (this.systemDark ? 'dark' : 'light') : this.preference,
  );

  constructor() {
    const media = window.matchMedia('(prefers-color-scheme: dark)');
    this.systemDark = media.matches;
    media.addEventListener('change', (event) => (this.systemDark = event.matches));
    this.apply();
  }

  set(preference: ThemePreference): void {
    this.preference = preference;
    try {
      if (preference === 'system') localStorage.removeItem(STORAGE_KEY);
      else localStorage.setItem(STORAGE_KEY, preference);
    } catch {
      // Storage can be off (private windows); the choice then lasts for this page.
    }
    this.apply();
  }

  /** system -> the opposite of what the system shows -> back to system, so one button reaches all three. */
  toggle(): void {
    const opposite = this.systemDark ? 'light' : 'dark';
    this.set(
      this.preference === 'system'
        ? opposite
        : this.preference === opposite
          ? opposite === 'dark'
            ? 'light'
            : 'dark'
          : 'system',
    );
  }

  private apply(): void {
    if (this.preference === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = this.preference;
  }
}

export const theme = new ThemeState();
