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

  /** BEGIN READ ONLY with the run's limits, in one round trip of Porthole's own fixed SQL. */
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
       set local extra_float_digits = 1`,
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
   * ROLLBACK + DISCARD ALL and back to the pool, or destroy the connection if anything is doubtful.
   * `unused`: nothing was sent on it (the run was refused before it began), so no reset is needed.
   */
  async release(options: { unused?: boolean } = {}): Promise<void> {
    if (this.released) return;
    this.released = true;
    let failure: Error | undefined = this.lostError ?? (this.tainted ? new Error('cancelled run') : undefined);
    if (!failure && !options.unused) {
      try {
        await this.client.query('rollback');
        await this.client.query('discard all');
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
    }
    failure ??= this.lostError;
    this.client.removeListener('error', this.onError);
    if (failure) this.client.on('error', () => undefined); // a destroyed client may still report its socket closing
    this.client.release(failure ?? undefined);
  }
}
