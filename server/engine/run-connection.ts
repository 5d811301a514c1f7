// One pooled connection per run (DESIGN.md "The engine's layers", 2): a read-only transaction with the
// run's timeouts, and afterwards ROLLBACK + DISCARD ALL so nothing a query did (settings, advisory locks,
// prepared statements, temp objects) survives into the next run. A connection that could not be reset, or
// that a cancel request was sent to, is destroyed rather than reused: a late cancel must never reach the
// next user's query.
import type pg from 'pg';
import { type BackendKey, sendCancelRequest } from './cancel-request.js';
import type { WireConnection } from './protocol.js';

/** How long a lock may be waited for: a reader must never queue behind (and so block) the application. */
const LOCK_TIMEOUT_MS = 5_000;

export class RunConnection {
  /** A cancel request went out or the socket was cut: the connection is not reused. */
  private tainted = false;
  private released = false;
  private wasReset = false;
  private resetError?: Error;
  /** Set when the connection failed under us (socket error), so release() destroys it. */
  private lostError?: Error;
  private readonly onError = (error: Error) => (this.lostError ??= error);

  private constructor(
    readonly client: pg.PoolClient,
    readonly backend: BackendKey,
  ) {
    client.on('error', this.onError);
  }

  static async open(pool: pg.Pool): Promise<RunConnection> {
    const client = await pool.connect();
    const raw = client as unknown as { processID: number; secretKey: number; host: string; port: number };
    const socket = (client as unknown as { connection: WireConnection }).connection.stream as unknown as {
      remoteAddress?: string;
      remotePort?: number;
    };
    const backend: BackendKey = {
      host: socket.remoteAddress ?? raw.host,
      port: socket.remotePort ?? raw.port,
      pid: raw.processID,
      secretKey: raw.secretKey,
    };
    return new RunConnection(client, backend);
  }

  get wire(): WireConnection {
    return (this.client as unknown as { connection: WireConnection }).connection;
  }

  /** Hands a protocol reader (server/engine/protocol.ts) to pg, which drives it message by message. */
  submit(reader: { submit(connection: WireConnection): void }): void {
    this.client.query(reader as unknown as pg.Submittable);
  }

  /**
   * BEGIN READ ONLY with the run's limits, in one round trip of Porthole's own fixed SQL. The settings
   * PostgreSQL's lexer depends on are pinned to what the guard's parser assumes (THREATS.md 48): with
   * standard_conforming_strings off for the role or database, '\'' would end a string where the guard
   * sees it continue, and the server would run SQL the guard never saw.
   */
  async begin(timeoutMs: number): Promise<void> {
    const statementTimeout = Math.max(1, Math.floor(timeoutMs));
    const lockTimeout = Math.min(statementTimeout, LOCK_TIMEOUT_MS);
    // Idle gaps inside the run (a slow CSV reader) are bounded by the run's own deadline; this only
    // catches a Porthole task that died mid-run and left the transaction open.
    const idleTimeout = statementTimeout + 10_000;
    await this.client.query(
      `begin read only;
       set local statement_timeout = ${statementTimeout};
       set local lock_timeout = ${lockTimeout};
       set local idle_in_transaction_session_timeout = ${idleTimeout};
       set local datestyle = 'ISO';
       set local intervalstyle = 'postgres';
       set local bytea_output = 'hex';
       set local extra_float_digits = 1;
       set local standard_conforming_strings = on;
       set local backslash_quote = 'safe_encoding'`,
    );
  }

  /** Asks the server to cancel whatever this connection runs; the connection will not be reused. */
  cancel(): Promise<void> {
    this.tainted = true;
    return sendCancelRequest(this.backend);
  }

  /** A cancel may have been sent from elsewhere: the connection will not be reused. */
  taint(): void {
    this.tainted = true;
  }

  /** Cuts the socket (after a limit tripped mid-message); the connection will not be reused. */
  cut(): void {
    this.tainted = true;
    this.wire.stream.destroy();
  }

  /**
   * ROLLBACK + DISCARD ALL, so nothing a query did survives. Failures are remembered: giveBack() then
   * destroys the connection. Skipped for a tainted connection, which is never reused anyway.
   */
  async reset(): Promise<void> {
    if (this.wasReset || this.tainted || this.lostError) return;
    this.wasReset = true;
    try {
      await this.client.query('rollback');
      await this.client.query('discard all');
    } catch (error) {
      this.resetError = error instanceof Error ? error : new Error(String(error));
    }
  }

  /**
   * Back to the pool after reset(), or destroyed if anything is doubtful (cancel sent, socket lost,
   * reset failed or never done). `unused`: nothing was sent on it, so no reset is needed.
   */
  giveBack(options: { unused?: boolean } = {}): void {
    if (this.released) return;
    this.released = true;
    const failure: Error | undefined =
      this.lostError ??
      this.resetError ??
      (this.tainted ? new Error('cancelled run') : !this.wasReset && !options.unused ? new Error('not reset') : undefined);
    this.client.removeListener('error', this.onError);
    if (failure) this.client.on('error', () => undefined); // a destroyed client may still report its socket closing
    this.client.release(failure ?? undefined);
  }

  /** reset() then giveBack(). */
  async release(options: { unused?: boolean } = {}): Promise<void> {
    if (!options.unused) await this.reset();
    this.giveBack(options);
  }
}
