// Asks before leaving a page with unsaved changes: closing or reloading the tab (beforeunload) and
// following a link inside the app (the router has no hook, so clicks on same-origin links are checked
// before it sees them). The back button cannot be stopped in a single-page app; the draft survives it in
// localStorage instead (see queries-page.svelte.ts).

export function guardUnsavedChanges(isDirty: () => boolean, message: string): () => void {
  const beforeUnload = (event: BeforeUnloadEvent) => {
    if (!isDirty()) return;
    event.preventDefault();
    event.returnValue = '';
  };
  const click = (event: MouseEvent) => {
    if (!isDirty() || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const anchor = (event.target as Element | null)?.closest('a[href]');
    if (!(anchor instanceof HTMLAnchorElement) || anchor.target === '_blank' || anchor.origin !== window.location.origin) return;
    if (anchor.pathname === window.location.pathname) return;
    if (!window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  };
  window.addEventListener('beforeunload', beforeUnload);
  document.addEventListener('click', click, true);
  return () => {
    window.removeEventListener('beforeunload', beforeUnload);
    document.removeEventListener('click', click, true);
  };
}
