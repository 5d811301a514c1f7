// Whether the scheduled verification found the audit chain broken (GET /api/audit/integrity, admins
// only): what the red banner on every page shows admins, until a full verification passes again.
// Loaded when an admin's page opens, again every few minutes and when the tab regains focus.
import type { IntegrityStatusJson } from '../../../../server/audit/schemas';
import { api } from '../../lib/api';

const REFRESH_MS = 5 * 60_000;
/** Focus changes come in bursts (dialogs, other windows); one request per this long is enough. */
const FOCUS_MIN_MS = 30_000;

export class AuditIntegrityState {
  status = $state<IntegrityStatusJson | undefined>();
  private lastLoad = 0;

  async load(): Promise<void> {
    this.lastLoad = Date.now();
    try {
      this.status = await api<IntegrityStatusJson>('/api/audit/integrity');
    } catch {
      // Keep the last answer: the banner is a pointer, the audit page itself verifies the chain.
    }
  }

  /** Loads now and keeps the answer fresh; returns the cleanup. */
  watch(): () => void {
    void this.load();
    const timer = setInterval(() => void this.load(), REFRESH_MS);
    const onFocus = () => {
      if (Date.now() - this.lastLoad >= FOCUS_MIN_MS) void this.load();
    };
    window.addEventListener('focus', onFocus);
    return () => {
      clearInterval(timer);
      window.removeEventListener('focus', onFocus);
    };
  }
}

export const auditIntegrity = new AuditIntegrityState();
