// Who is signed in, loaded once from /api/me; sign-out goes through POST /auth/logout and then to the
// identity provider's end-session page when it has one.
import { api, ApiError } from './api';

export type Role = 'viewer' | 'editor' | 'admin';

export interface CurrentUser {
  id: string;
  email: string | null;
  name: string | null;
  role: Role;
  groups: string[];
}

const RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 };

export class SessionState {
  status = $state<'loading' | 'signed-in' | 'signed-out' | 'error'>('loading');
  user = $state<CurrentUser | undefined>();
  error = $state<string | undefined>();

  async load(): Promise<void> {
    try {
      const { user } = await api<{ user: CurrentUser }>('/api/me', { allowUnauthenticated: true });
      this.user = user;
      this.status = 'signed-in';
    } catch (error) {
      this.user = undefined;
      if (error instanceof ApiError && error.status === 401) this.status = 'signed-out';
      else {
        this.status = 'error';
        this.error = error instanceof Error ? error.message : String(error);
      }
    }
  }

  /**
   * Re-checks the session when the user comes back to the tab: if it expired meanwhile, api() sends them
   * through sign-in and back to this page instead of failing on their next click.
   */
  watchForExpiry(): () => void {
    let lastCheck = Date.now();
    const check = () => {
      if (this.status !== 'signed-in' || Date.now() - lastCheck < 5_000) return;
      lastCheck = Date.now();
      void api<{ user: CurrentUser }>('/api/me').then(({ user }) => (this.user = user));
    };
    window.addEventListener('focus', check);
    return () => window.removeEventListener('focus', check);
  }

  can(role: Role): boolean {
    return !!this.user && RANK[this.user.role] >= RANK[role];
  }

  async signOut(): Promise<void> {
    const { redirectTo } = await api<{ redirectTo: string }>('/auth/logout', { method: 'POST', allowUnauthenticated: true });
    window.location.assign(redirectTo);
  }
}

export const session = new SessionState();
