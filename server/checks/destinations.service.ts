// Alert destinations (Slack incoming webhooks, signed generic webhooks): admins only. The URL passes the
// SSRF rules when saved (and again at every send, in outbound.ts); the URL and the signing secret are
// never returned after saving (a hint only; a generated secret is shown once) and never audited.
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import type { AuditLog } from '../audit/service.js';
import { hasRole, type SessionUser } from '../auth/guards.js';
import { AppError } from '../lib/errors.js';
import {
  deleteDestination,
  findDestination,
  insertDestination,
  listDestinations,
  updateDestination,
  type DestinationRow,
} from './destinations.repository.js';
import type { AlertMessage } from './messages.js';
import { removeDestinationFromChecks } from './repository.js';
import type { AttemptOutcome, Notifier } from './notifier.js';
import { OutboundRefused, type OutboundPolicy } from './outbound.js';
import type { DestinationBody, DestinationUpdateBody, DestinationView } from './schemas.js';
import { newSigningSecret } from './signature.js';

function requireAdmin(user: SessionUser): void {
  if (!hasRole(user, 'admin')) throw new AppError(403, 'forbidden', 'Alert destinations are managed by admins.');
}

export function destinationView(row: DestinationRow): DestinationView {
  const url = new URL(row.url);
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    urlHint: `${url.protocol}//${url.host}/…`,
    secretHint: row.secret ? `…${row.secret.slice(-4)}` : null,
    createdAt: row.created_at.toISOString(),
  };
}

export class DestinationsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditLog,
    private readonly outbound: OutboundPolicy,
    private readonly notifier: Notifier,
    private readonly publicUrl: string,
  ) {}

  private async checkUrl(url: string): Promise<void> {
    try {
      await this.outbound.check(url);
    } catch (error) {
      if (error instanceof OutboundRefused) throw new AppError(400, 'destination_refused', error.message);
      throw error;
    }
  }

  /** Everyone may list them (names only) to pick one for a check; hints only, never URLs or secrets. */
  async list(): Promise<DestinationView[]> {
    return (await listDestinations(this.db)).map(destinationView);
  }

  async create(user: SessionUser, body: DestinationBody): Promise<DestinationView & { secret: string | null }> {
    requireAdmin(user);
    await this.checkUrl(body.url);
    const secret = body.kind === 'webhook' ? (body.secret ?? newSigningSecret()) : null;
    const row = await insertDestination(this.db, {
      kind: body.kind,
      name: body.name.trim(),
      url: body.url,
      secret,
      createdBy: user.id,
    }).catch((error: { code?: string }) => {
      if (error.code === '23505') throw new AppError(409, 'conflict', `A destination named "${body.name}" exists already.`);
      throw error;
    });
    await this.audit.record({
      action: 'destination.created',
      actor: { id: user.id, email: user.email },
      details: { destinationId: row.id, kind: row.kind, name: row.name },
    });
    return { ...destinationView(row), secret };
  }

  async update(user: SessionUser, id: string, body: DestinationUpdateBody): Promise<DestinationView & { secret: string | null }> {
    requireAdmin(user);
    const existing = await findDestination(this.db, id);
    if (!existing) throw new AppError(404, 'not_found', `There is no destination ${id}.`);
    if (body.kind && body.kind !== existing.kind)
      throw new AppError(400, 'invalid_request', "A destination's kind cannot change.");
    if (body.url) await this.checkUrl(body.url);
    const row = await updateDestination(this.db, id, { name: body.name, url: body.url, secret: body.secret });
    await this.audit.record({
      action: 'destination.updated',
      actor: { id: user.id, email: user.email },
      details: { destinationId: id, name: row!.name, changed: Object.keys(body) },
    });
    return { ...destinationView(row!), secret: body.secret ? body.secret : null };
  }

  /** Also takes it off every check that named it, in the same transaction. */
  async remove(user: SessionUser, id: string): Promise<void> {
    requireAdmin(user);
    const existing = await findDestination(this.db, id);
    if (!existing) throw new AppError(404, 'not_found', `There is no destination ${id}.`);
    await this.db.transaction().execute(async (trx) => {
      if (!(await deleteDestination(trx, id))) throw new AppError(404, 'not_found', `There is no destination ${id}.`);
      await removeDestinationFromChecks(trx, id);
      await this.audit.record({
        action: 'destination.deleted',
        actor: { id: user.id, email: user.email },
        details: { destinationId: id, name: existing.name },
      });
    });
  }

  /** "Send test": one attempt with a sample message, the outcome shown to the admin. */
  async sendTest(user: SessionUser, id: string): Promise<AttemptOutcome> {
    requireAdmin(user);
    const destination = await findDestination(this.db, id);
    if (!destination) throw new AppError(404, 'not_found', `There is no destination ${id}.`);
    const message: AlertMessage = {
      check: { id: '0', name: 'Test from Porthole' },
      state: 'ok',
      previousState: null,
      reason: `A test sent by ${user.email ?? user.id} to check that "${destination.name}" receives Porthole's alerts.`,
      reminder: false,
      query: { id: '0', name: 'No query (test)', version: null },
      params: {},
      columns: null,
      rows: null,
      rowCount: null,
      runAt: new Date().toISOString(),
      url: this.publicUrl,
      checkUrl: new URL('/checks', this.publicUrl).toString(),
    };
    return this.notifier.toDestination(destination, message);
  }
}
