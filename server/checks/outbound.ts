// Outbound HTTP for Slack and webhook deliveries, with the SSRF rules (THREATS.md; issue #11):
//   - https only; outside production a host listed in WEBHOOK_ALLOWED_HOSTS may use plain http (a
//     receiver on loopback in development), in production never;
//   - the address the host resolves to must not be loopback, link-local (169.254.0.0/16 holds the ECS
//     task and EC2 instance metadata services), private, carrier-grade NAT, unique-local or unspecified,
//     unless the host is listed in WEBHOOK_ALLOWED_HOSTS (a receiver inside the VPC);
//   - checked when a destination is saved and again at every send: on a direct connection the check runs
//     inside the socket's own DNS lookup, so the address that is checked is the address that is connected
//     to (no window for DNS rebinding between a check and the request); through the egress proxy
//     (HTTPS_PROXY, egress-proxy.ts) it runs before the tunnel is opened;
//   - redirects are never followed.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { bypassesProxy, openTunnel, type EgressProxy } from './egress-proxy.js';

const BLOCKED = new net.BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  BLOCKED.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  BLOCKED.addSubnet(network, prefix, 'ipv6');

/** Whether an address is one a webhook may not reach (IPv4-mapped IPv6 is judged as its IPv4). */
export function isForbiddenAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1]!, 'ipv4');
  const family = net.isIP(address);
  if (family === 0) return true;
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class OutboundRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboundRefused';
  }
}

/** Resolves a host name to its addresses; tests inject one to name a host that resolves to 10.x. */
export type Resolver = (hostname: string) => Promise<string[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true }, (error, addresses: LookupAddress[]) =>
      error ? reject(error) : resolve(addresses.map((a) => a.address)),
    ),
  );

export interface OutboundPolicyOptions {
  allowedHosts: string[];
  /** Production: plain http is refused even for hosts in WEBHOOK_ALLOWED_HOSTS. */
  httpsOnly?: boolean;
  /** HTTPS_PROXY / NO_PROXY: how deliveries leave private subnets (egress-proxy.ts). */
  proxy?: EgressProxy;
  resolver?: Resolver;
  /** Tests: trust this CA for https receivers (a throwaway one) instead of the system's. */
  ca?: string;
  timeoutMs?: number;
}

export interface OutboundResponse {
  status: number;
  body: string;
}

export class OutboundPolicy {
  private readonly allowed: Set<string>;
  private readonly httpsOnly: boolean;
  private readonly proxy: EgressProxy | undefined;
  private readonly resolver: Resolver;
  private readonly ca: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: OutboundPolicyOptions) {
    this.allowed = new Set(options.allowedHosts.map((h) => h.toLowerCase()));
    this.httpsOnly = options.httpsOnly ?? false;
    this.proxy = options.proxy;
    this.resolver = options.resolver ?? systemResolver;
    this.ca = options.ca;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  private hostOf(url: URL): string {
    return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  }

  /** Parses and checks a URL (scheme, then every address its host resolves to); throws OutboundRefused. */
  async check(raw: string): Promise<URL> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new OutboundRefused('The URL is not valid.');
    }
    const host = this.hostOf(url);
    const allowed = this.allowed.has(host);
    if (url.protocol !== 'https:') {
      if (url.protocol !== 'http:' || !allowed) throw new OutboundRefused('The URL must use https.');
      if (this.httpsOnly)
        throw new OutboundRefused('The URL must use https: plain http is refused in production, even for allowed hosts.');
    }
    if (url.username || url.password) throw new OutboundRefused('The URL must not carry credentials.');
    if (!allowed) await this.resolveAllowed(host);
    return url;
  }

  private async resolveAllowed(host: string): Promise<string[]> {
    const addresses = net.isIP(host) ? [host] : await this.resolver(host).catch(() => [] as string[]);
    if (addresses.length === 0) throw new OutboundRefused(`${host} does not resolve.`);
    const bad = addresses.find(isForbiddenAddress);
    if (bad) {
      throw new OutboundRefused(
        `${host} resolves to ${bad}, a loopback, link-local, private or unique-local address; list the host in WEBHOOK_ALLOWED_HOSTS to allow it.`,
      );
    }
    return addresses;
  }

  /** Whether a delivery to this URL goes through the egress proxy (an https host outside the VPC). */
  private viaProxy(url: URL): EgressProxy | undefined {
    if (!this.proxy || url.protocol !== 'https:') return undefined;
    const host = this.hostOf(url);
    if (this.allowed.has(host) || bypassesProxy(this.proxy.noProxy, host, Number(url.port) || 443)) return undefined;
    return this.proxy;
  }

  /** POSTs a JSON body after the checks; a redirect is an error, never followed. */
  async postJson(raw: string, body: string, headers: Record<string, string> = {}): Promise<OutboundResponse> {
    const url = await this.check(raw);
    const host = this.hostOf(url);
    const options: https.RequestOptions = {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Porthole-Alerts', ...headers },
      timeout: this.timeoutMs,
      // Never the global agent: with NODE_USE_ENV_PROXY it would route through a proxy of its own,
      // outside these rules.
      agent: false,
      ...(this.ca ? { ca: this.ca } : {}),
    };
    const proxy = this.viaProxy(url);
    if (proxy) {
      // check() resolved the host and judged its addresses just now; the proxy connects by name.
      const socket = await openTunnel(proxy, host, Number(url.port) || 443, this.timeoutMs);
      delete options.agent;
      // No agent, so say which port is https's own, or the Host header would read host:80.
      options.defaultPort = 443;
      options.createConnection = () =>
        tls.connect({ socket, servername: net.isIP(host) ? undefined : host, ...(this.ca ? { ca: this.ca } : {}) });
    } else if (!this.allowed.has(host)) {
      // The connection resolves through this lookup, so the address checked is the one connected to.
      options.lookup = (hostname, lookupOptions, callback) => {
        this.resolveAllowed(hostname).then(
          (addresses) => {
            const address = addresses[0]!;
            const family = net.isIP(address);
            if ((lookupOptions as { all?: boolean }).all)
              (callback as (e: null, a: LookupAddress[]) => void)(null, [{ address, family }]);
            else callback(null, address, family);
          },
          (error: Error) => callback(error as NodeJS.ErrnoException, '', 0),
        );
      };
    }
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = client.request(url, options, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= 64 * 1024) chunks.push(chunk);
        });
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (status >= 300 && status < 400) {
            reject(new OutboundRefused(`The receiver answered ${status} (a redirect); redirects are not followed.`));
            return;
          }
          resolve({ status, body: Buffer.concat(chunks).toString('utf8') });
        });
        response.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`No answer within ${this.timeoutMs} ms.`)));
      request.on('error', reject);
      request.end(body);
    });
  }
}
