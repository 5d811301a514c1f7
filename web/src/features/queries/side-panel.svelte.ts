// Whether a saved query's side panel (History and Runs) is open. It takes 300 px beside the editor, so
// people who want the room fold it away; the choice is kept on this device, for every query.
const STORAGE_KEY = 'porthole.query-side-panel';

function stored(): boolean {
  try {
    return localStorage.getItem(STORAGE_KEY) !== 'closed';
  } catch {
    return true; // storage blocked: open, as by default
  }
}

export class SidePanelState {
  open = $state(stored());

  toggle(): void {
    this.open = !this.open;
    try {
      localStorage.setItem(STORAGE_KEY, this.open ? 'open' : 'closed');
    } catch {
      // Not remembered, still toggled.
    }
  }
}
