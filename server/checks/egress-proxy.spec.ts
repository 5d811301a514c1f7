import { describe, expect, it } from 'vitest';
import { bypassesProxy } from './egress-proxy.js';
import { OutboundPolicy, OutboundRefused } from './outbound.js';

describe('NO_PROXY matching', () => {
  const noProxy = ['localhost', '.amazonaws.com', 'corp.internal', '169.254.169.254', 'hooks.example:8443'];
  it('sends listed hosts and their subdomains direct', () => {
    expect(bypassesProxy(noProxy, 'localhost', 443)).toBe(true);
    expect(bypassesProxy(noProxy, 'email-smtp.eu-west-1.amazonaws.com', 443)).toBe(true);
    expect(bypassesProxy(noProxy, 'corp.internal', 443)).toBe(true);
    expect(bypassesProxy(noProxy, 'alerts.corp.internal', 443)).toBe(true);
    expect(bypassesProxy(noProxy, '169.254.169.254', 80)).toBe(true);
  });
  it('proxies everything else, including look-alike names and other ports', () => {
    expect(bypassesProxy(noProxy, 'hooks.slack.com', 443)).toBe(false);
    expect(bypassesProxy(noProxy, 'evilcorp.internal', 443)).toBe(false);
    expect(bypassesProxy(noProxy, 'amazonaws.com.evil.example', 443)).toBe(false);
    expect(bypassesProxy(noProxy, 'hooks.example', 443)).toBe(false);
    expect(bypassesProxy(noProxy, 'hooks.example', 8443)).toBe(true);
    expect(bypassesProxy([], 'localhost', 443)).toBe(false);
    expect(bypassesProxy(['*'], 'hooks.slack.com', 443)).toBe(true);
  });
});

describe('plain http to an allowed host', () => {
  it('is accepted outside production and refused in production', async () => {
    const development = new OutboundPolicy({ allowedHosts: ['127.0.0.1'] });
    await expect(development.check('http://127.0.0.1:8080/hook')).resolves.toBeInstanceOf(URL);
    const production = new OutboundPolicy({ allowedHosts: ['127.0.0.1'], httpsOnly: true });
    await expect(production.check('http://127.0.0.1:8080/hook')).rejects.toThrow(OutboundRefused);
    await expect(production.check('http://127.0.0.1:8080/hook')).rejects.toThrow(/refused in production/);
    await expect(production.check('https://127.0.0.1:8443/hook')).resolves.toBeInstanceOf(URL);
    // A host that is not allowed needs https everywhere.
    await expect(development.check('http://93.184.216.34/hook')).rejects.toThrow('The URL must use https.');
  });
});
