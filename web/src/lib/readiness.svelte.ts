// The server's readiness, shown on the home page so a new user sees that the databases answer.
export interface Readiness {
  status: 'ready' | 'not_ready';
  checks: Record<string, string>;
}

export class ReadinessState {
  current = $state<Readiness | undefined>();
  error = $state<string | undefined>();

  async load(): Promise<void> {
    try {
      const response = await fetch('/readyz', { headers: { accept: 'application/json' } });
      this.current = (await response.json()) as Readiness;
      this.error = undefined;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
  }
}
