// A tiny history-API router: the current path as state, and navigate() for links.
export class Router {
  path = $state(window.location.pathname);

  constructor() {
    window.addEventListener('popstate', () => (this.path = window.location.pathname));
  }

  navigate(to: string): void {
    if (to === window.location.pathname + window.location.search) return;
    window.history.pushState({}, '', to);
    this.path = window.location.pathname;
  }

  /** For <a onclick>: keep ordinary clicks in the app, let modified clicks open tabs as usual. */
  follow = (event: MouseEvent): void => {
    const anchor = event.currentTarget as HTMLAnchorElement;
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    this.navigate(anchor.getAttribute('href') ?? '/');
  };
}

export const router = new Router();
