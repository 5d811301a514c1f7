// PostgreSQL's protocol-level cancel request: a fresh connection carrying the backend's process id and
// secret key. It needs no privilege (pg_cancel_backend would need a grant the reader must not hold), works
// from any Porthole task that knows the key, and touches only the one query it names.
import net from 'node:net';

export interface BackendKey {
  /** Address the backend was reached at: an IP (or host name) and port, or a Unix socket directory. */
  host: string;
  port: number;
  pid: number;
  secretKey: number;
}

const CANCEL_REQUEST_CODE = 80877102;
const CANCEL_TIMEOUT_MS = 3000;

/** Sends the cancel request and resolves once the server has closed the connection (or after a timeout). */
export function sendCancelRequest(key: BackendKey): Promise<void> {
  return new Promise((resolve) => {
    const socket = key.host.startsWith('/')
      ? net.connect(`${key.host}/.s.PGSQL.${key.port}`)
      : net.connect({ host: key.host, port: key.port });
    const timer = setTimeout(() => socket.destroy(), CANCEL_TIMEOUT_MS);
    const finish = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.setNoDelay(true);
    socket.once('connect', () => {
      const packet = Buffer.alloc(16);
      packet.writeInt32BE(16, 0);
      packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
      packet.writeInt32BE(key.pid, 8);
      packet.writeInt32BE(key.secretKey, 12);
      socket.end(packet);
    });
    socket.on('error', () => undefined); // best effort: the run's own timeout still applies
    socket.once('close', finish);
    socket.resume();
  });
}
