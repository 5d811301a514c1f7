// Delivers one alert to one recipient, as a job of the scheduler's `checks.deliver` queue: every attempt
// is written to notification_deliveries; a failed attempt throws so the queue retries it with backoff;
// a refusal by the SSRF rules is recorded and not retried. Destination URLs and secrets never reach the
// log, the delivery log or the audit log: only the destination's name does.
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import { findDestination, type DestinationRow } from './destinations.repository.js';
import type { Mailer } from './mailer.js';
import { emailHtml, emailText, slackBody, subjectOf, webhookBody, type AlertMessage } from './messages.js';
import { OutboundRefused, type OutboundPolicy } from './outbound.js';
import { insertDelivery } from './repository.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';

export interface DeliveryJob {
  checkRunId: string;
  channel: 'email' | 'slack' | 'webhook';
  /** An email address, or the destination's name. */
  target: string;
  destinationId?: string;
  message: AlertMessage;
}

export interface AttemptOutcome {
  status: 'sent' | 'failed' | 'refused';
  detail: string | null;
  responseStatus: number | null;
  outboxFile?: string;
}

export class DeliveryFailed extends Error {}

export class Notifier {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly outbound: OutboundPolicy,
    private readonly mailer: Mailer | undefined,
  ) {}

  /** One attempt (1-based), logged; throws DeliveryFailed when it should be retried. */
  async deliver(job: DeliveryJob, attempt: number): Promise<AttemptOutcome> {
    const outcome = await this.attempt(job);
    await insertDelivery(this.db, {
      check_run_id: job.checkRunId,
      channel: job.channel,
      target: job.target,
      destination_id: job.destinationId ?? null,
      attempt,
      status: outcome.status,
      detail: outcome.outboxFile ? `outbox:${outcome.outboxFile}` : outcome.detail,
      response_status: outcome.responseStatus,
    });
    if (outcome.status === 'failed') throw new DeliveryFailed(outcome.detail ?? 'delivery failed');
    return outcome;
  }

  private async attempt(job: DeliveryJob): Promise<AttemptOutcome> {
    if (job.channel === 'email') return this.email(job.target, job.message);
    const destination = job.destinationId ? await findDestination(this.db, job.destinationId) : undefined;
    if (!destination) return { status: 'refused', detail: 'The destination was deleted.', responseStatus: null };
    return this.toDestination(destination, job.message);
  }

  async email(to: string, message: AlertMessage): Promise<AttemptOutcome> {
    if (!this.mailer) return { status: 'refused', detail: 'Email is not configured (SMTP_URL).', responseStatus: null };
    try {
      const { outboxFile } = await this.mailer.send({
        to,
        subject: subjectOf(message),
        text: emailText(message),
        html: emailHtml(message),
      });
      return { status: 'sent', detail: null, responseStatus: null, outboxFile };
    } catch (error) {
      return { status: 'failed', detail: `SMTP: ${(error as Error).message}`.slice(0, 500), responseStatus: null };
    }
  }

  async toDestination(destination: DestinationRow, message: AlertMessage): Promise<AttemptOutcome> {
    const body = destination.kind === 'slack' ? slackBody(message) : webhookBody(message);
    const headers: Record<string, string> = {};
    if (destination.kind === 'webhook' && destination.secret)
      headers[SIGNATURE_HEADER] = signatureHeader(destination.secret, body);
    try {
      const response = await this.outbound.postJson(destination.url, body, headers);
      if (response.status >= 200 && response.status < 300)
        return { status: 'sent', detail: null, responseStatus: response.status };
      return { status: 'failed', detail: `The receiver answered ${response.status}.`, responseStatus: response.status };
    } catch (error) {
      if (error instanceof OutboundRefused) return { status: 'refused', detail: error.message, responseStatus: null };
      return { status: 'failed', detail: (error as Error).message.slice(0, 500), responseStatus: null };
    }
  }
}
