// The egress proxy for Slack and webhook deliveries. On ECS the tasks sit in private subnets with no
// route to the internet; the stack's `egressProxyUrl` gives them HTTPS_PROXY (and NO_PROXY), which
// Node's fetch honours for the identity provider. Deliveries use node:https directly (so the SSRF rules
// can hold the connection), so they honour the same settings here, explicitly, through config.ts:
//   - an https destination whose host is not in NO_PROXY (nor in WEBHOOK_ALLOWED_HOSTS: receivers inside
//     the VPC) is reached through an HTTP CONNECT tunnel; TLS runs end to end inside it, so the proxy
//     sees the host name and nothing else;
//   - the tunnel names the host, not the address Porthole resolved, so a proxy that allows destinations
//     by domain (squid's dstdomain) keeps working. The SSRF rules are still applied to the host's
//     addresses before every tunnel is opened (outbound.ts); the address the proxy then connects to is
//     the proxy's own resolution, and the metadata services at 169.254.169.254 / 169.254.170.2 are
//     link-local to the task, out of the proxy's reach.
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';

export interface EgressProxy {
  /** http://host:port or https://host:port, optionally with user:password for Proxy-Authorization. */
  url: string;
  /** NO_PROXY entries: `*`, a host or domain (`example.com` also covers its subdomains), optional `:port`. */
  noProxy: string[];
}

/** Whether NO_PROXY sends this host (and port) direct, with the usual curl/Node matching rules. */
export function bypassesProxy(noProxy: string[], hostname: string, port: number): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return noProxy.some((raw) => {
    const entry = raw.trim().toLowerCase();
    if (entry === '*') return true;
    const portMatch = /^(.*?)(?::(\d+))?$/.exec(entry.startsWith('[') ? entry.replace(/^\[(.*)\]/, '$1') : entry);
    const name = (portMatch?.[1] ?? entry).replace(/^\*?\./, '');
    if (portMatch?.[2] !== undefined && Number(portMatch[2]) !== port) return false;
    return name !== '' && (host === name || host.endsWith(`.${name}`));
  });
}

/**
 * Opens a CONNECT tunnel through the proxy to host:port and resolves with the raw socket, ready for TLS.
 * A proxy answer other than 200 rejects (the delivery failed, and is retried like any other).
 */
export function openTunnel(proxy: EgressProxy, host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  const proxyUrl = new URL(proxy.url);
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const headers: Record<string, string> = { host: authority };
  if (proxyUrl.username || proxyUrl.password) {
    const credentials = `${decodeURIComponent(proxyUrl.username)}:${decodeURIComponent(proxyUrl.password)}`;
    headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  const client = proxyUrl.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request({
      host: proxyUrl.hostname.replace(/^\[|\]$/g, ''),
      port: Number(proxyUrl.port) || (proxyUrl.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: authority,
      headers,
      // Its own agent: never the global one, which NODE_USE_ENV_PROXY may point at a proxy itself.
      agent: false,
      timeout: timeoutMs,
    });
    request.on('connect', (response, socket) => {
      if (response.statusCode === 200) {
        resolve(socket);
        return;
      }
      socket.destroy();
      reject(new Error(`The egress proxy answered ${response.statusCode} to CONNECT ${authority}.`));
    });
    request.on('response', (response) => {
      response.resume();
      reject(new Error(`The egress proxy answered ${response.statusCode} to CONNECT ${authority}.`));
    });
    request.on('timeout', () => request.destroy(new Error(`The egress proxy did not answer within ${timeoutMs} ms.`)));
    request.on('error', (error) => reject(new Error(`The egress proxy could not be reached: ${error.message}`)));
    request.end();
  });
}
