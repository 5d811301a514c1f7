// A real Porthole listening on a loopback port, on fresh test databases, for browser tests.
import type { TestApp } from './app.js';
import { startTestApp } from './app.js';
import { freePort } from './processes.js';

export interface TestServer extends TestApp {
  origin: string;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const t = await startTestApp({ PUBLIC_URL: origin, PORT: String(port), ...env });
  await t.app.listen({ host: '127.0.0.1', port });
  return { ...t, origin };
}
