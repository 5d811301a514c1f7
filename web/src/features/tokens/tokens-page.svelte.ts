// The API tokens page's state: the list (one's own, or everyone's for admins), creating a token (its secret
// is kept here only until the page is left: it is shown once) and revoking.
import { api } from '../../lib/api';
import type { Role } from '../../lib/session.svelte';
import type { CreatedTokenJson, TokenJson } from '../../../../server/tokens/schemas';

export type Scope = 'queries:read' | 'queries:run' | 'sql:run' | 'audit:read';

export const SCOPE_CHOICES: ReadonlyArray<{ scope: Scope; label: string; role: Role }> = [
  { scope: 'queries:read', label: 'Read saved queries and data sources', role: 'viewer' },
  { scope: 'queries:run', label: 'Run saved queries and read their background results', role: 'viewer' },
  { scope: 'sql:run', label: 'Run free SQL', role: 'editor' },
  { scope: 'audit:read', label: 'Read the audit log', role: 'admin' },
];

export const EXPIRY_CHOICES = [7, 30, 90, 365] as const;

export class TokensPageState {
  tokens = $state.raw<TokenJson[]>([]);
  everyone = $state(false);
  loading = $state(false);
  error = $state<string | undefined>();
  /** The secret of the token just created: shown once, gone when the page is left or dismissed. */
  created = $state.raw<CreatedTokenJson | undefined>();

  async refresh(): Promise<void> {
    this.loading = true;
    try {
      this.tokens = (await api<{ tokens: TokenJson[] }>(`/api/tokens${this.everyone ? '?all=true' : ''}`)).tokens;
      this.error = undefined;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    } finally {
      this.loading = false;
    }
  }

  async create(input: { name: string; scopes: Scope[]; expiresInDays: number }): Promise<void> {
    this.created = await api<CreatedTokenJson>('/api/tokens', { method: 'POST', body: input });
    await this.refresh();
  }

  async revoke(id: string): Promise<void> {
    await api(`/api/tokens/${encodeURIComponent(id)}/revoke`, { method: 'POST' });
    await this.refresh();
  }

  dismissSecret(): void {
    this.created = undefined;
  }
}

export function when(value: string | null): string {
  // A formatted snapshot, not state.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  return value ? new Date(value).toLocaleString() : '—';
}
