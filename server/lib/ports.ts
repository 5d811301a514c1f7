// Whether a TCP port on loopback can be bound right now (for choosing the embedded PostgreSQL's port,
// and in tests for picking ports for servers they start).
import net from 'node:net';

export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
