// A real Porthole listening on a loopback port, on fresh test databases, for browser and OIDC tests.
import type { TestApp } from './app.js';
import { startTestApp } from './app.js';
import { freePort } from './processes.js';

export interface TestServer extends TestApp {
  origin: string;
}

/** `port` lets a test start an identity provider that already knows Porthole's origin. */
export async function startTestServer(
  env: Record<string, string> = {},
  port?: number,
  options: Parameters<typeof startTestApp>[1] = {},
): Promise<TestServer> {
  const listenPort = port ?? (await freePort());
  const origin = `http://127.0.0.1:${listenPort}`;
  const t = await startTestApp({ PUBLIC_URL: origin, PORT: String(listenPort), ...env }, options);
  await t.app.listen({ host: '127.0.0.1', port: listenPort });
  return { ...t, origin };
}
