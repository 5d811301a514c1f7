// The demo identity provider's storage: in memory, on purpose (demo users sign in again after a
// restart). oidc-provider's own development adapter does the same but warns at every start that it
// must be replaced, which is right for a real provider and noise in Porthole's demo terminal.
import type { Adapter, AdapterPayload } from 'oidc-provider';

type Store = Map<string, { payload: AdapterPayload; expiresAt?: number }>;

/** An adapter factory with its own stores, one per provider instance (tests start several). */
export function demoMemoryAdapter(): (model: string) => Adapter {
  const stores = new Map<string, Store>();
  return (model) => {
    const store = stores.get(model) ?? new Map();
    stores.set(model, store);
    return new MemoryAdapter(store);
  };
}

class MemoryAdapter implements Adapter {
  constructor(private readonly store: Store) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    this.store.set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const entry = this.store.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.store.delete(id);
      return undefined;
    }
    return entry.payload;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findWhere((payload) => payload.userCode === userCode);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findWhere((payload) => payload.uid === uid);
  }

  async consume(id: string): Promise<void> {
    const entry = this.store.get(id);
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    this.store.delete(id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [id, entry] of this.store) if (entry.payload.grantId === grantId) this.store.delete(id);
  }

  private async findWhere(test: (payload: AdapterPayload) => boolean): Promise<AdapterPayload | undefined> {
    for (const [id, entry] of this.store) if (test(entry.payload)) return this.find(id);
    return undefined;
  }
}
