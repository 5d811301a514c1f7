import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { isWeakSecret } from './lib/secret-strength.js';

const STRONG = 'Zq3vN8xK1pR7tY4wB6mC9dF2gH5jL0sA';
const PRODUCTION = {
  NODE_ENV: 'production',
  PUBLIC_URL: 'https://porthole.example.com',
  TOOLS_DATABASE_URL: 'postgres://app:pw@db.internal:5432/tools',
  MAIN_DATABASE_URL: 'postgres://reader:pw@main.internal:5432/app',
  SESSION_SECRET: STRONG,
  OIDC_ISSUER_URL: 'https://login.example.com',
  OIDC_CLIENT_ID: 'porthole',
  OIDC_CLIENT_SECRET: 'client-secret',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('runs in demo mode with defaults when no database is configured', () => {
    const config = loadConfig({});
    expect(config.demo).toBe(true);
    expect(config.port).toBe(3000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.publicUrl).toBe('http://127.0.0.1:3000');
    expect(config.engine).toEqual({ queryTimeoutMs: 30_000, maxRows: 10_000, maxCsvRows: 1_000_000, maxResultBytes: 67_108_864 });
    expect(config.roles.defaultRole).toBe('editor');
    expect(config.oidcScopes).toBe('openid email profile');
    expect(config.oidcGroupsClaim).toBe('groups');
  });

  it('runs the scheduler unless SCHEDULER_ENABLED=false, and refuses other values', () => {
    expect(loadConfig({}).scheduler.enabled).toBe(true);
    expect(loadConfig({ SCHEDULER_ENABLED: 'false' }).scheduler.enabled).toBe(false);
    expect(problemsOf({ SCHEDULER_ENABLED: 'no' })).toEqual(['SCHEDULER_ENABLED must be true or false (got "no")']);
  });

  it('reads the alert settings and refuses a bad SMTP_URL or ALERT_FROM', () => {
    const alerts = loadConfig({
      SMTP_URL: 'smtps://user:pw@email-smtp.eu-west-1.amazonaws.com:465',
      ALERT_FROM: 'Porthole <alerts@example.com>',
      ALERTS_INCLUDE_ROWS: 'false',
      WEBHOOK_ALLOWED_HOSTS: 'Hooks.Internal, 10.1.2.3',
    }).alerts;
    expect(alerts).toEqual({
      smtpUrl: 'smtps://user:pw@email-smtp.eu-west-1.amazonaws.com:465',
      from: 'Porthole <alerts@example.com>',
      includeRows: false,
      webhookAllowedHosts: ['hooks.internal', '10.1.2.3'],
    });
    expect(problemsOf({ SMTP_URL: 'http://mail', ALERT_FROM: 'nobody' })).toEqual([
      'ALERT_FROM must be an email address (got "nobody")',
      'SMTP_URL must use smtp: or smtps: (got http:)',
    ]);
  });

  it('reads the egress proxy for Slack and webhook deliveries (HTTPS_PROXY, NO_PROXY) and refuses a bad one', () => {
    expect(loadConfig({}).alerts.egressProxy).toBeUndefined();
    expect(
      loadConfig({ HTTPS_PROXY: 'http://proxy.corp.internal:3128', NO_PROXY: 'localhost, .Amazonaws.com,169.254.169.254' }).alerts
        .egressProxy,
    ).toEqual({ url: 'http://proxy.corp.internal:3128', noProxy: ['localhost', '.amazonaws.com', '169.254.169.254'] });
    // curl's lower-case spelling is read too when the upper-case one is unset.
    expect(loadConfig({ https_proxy: 'http://user:pw@10.0.0.5:8080', no_proxy: 'internal' }).alerts.egressProxy).toEqual({
      url: 'http://user:pw@10.0.0.5:8080',
      noProxy: ['internal'],
    });
    expect(problemsOf({ HTTPS_PROXY: 'socks5://proxy:1080' })).toEqual(['HTTPS_PROXY must use http: or https: (got socks5:)']);
    expect(problemsOf({ HTTPS_PROXY: 'http://proxy:3128/path' })).toEqual([
      'HTTPS_PROXY must be a proxy origin like http://proxy.internal:3128 (no path)',
    ]);
  });

  it('reads the API token and background run settings, with their defaults, and refuses bad values', () => {
    const defaults = loadConfig({});
    expect(defaults.tokens).toEqual({ rateLimitPerMinute: 120 });
    expect(defaults.background).toEqual({ timeoutMs: 1_800_000, resultRetentionMinutes: 60, perUserRuns: 3 });
    const set = loadConfig({
      TOKEN_RATE_LIMIT_PER_MINUTE: '30',
      BACKGROUND_QUERY_TIMEOUT_MS: '600000',
      RESULT_RETENTION_MINUTES: '15',
      BACKGROUND_RUNS_PER_USER: '1',
    });
    expect(set.tokens.rateLimitPerMinute).toBe(30);
    expect(set.background).toEqual({ timeoutMs: 600_000, resultRetentionMinutes: 15, perUserRuns: 1 });
    const problems = problemsOf({
      TOKEN_RATE_LIMIT_PER_MINUTE: '0',
      RESULT_RETENTION_MINUTES: 'soon',
      BACKGROUND_QUERY_TIMEOUT_MS: '5',
    });
    expect(problems).toHaveLength(3);
    expect(problems.map((problem) => problem.split(' ')[0])).toEqual([
      'TOKEN_RATE_LIMIT_PER_MINUTE',
      'BACKGROUND_QUERY_TIMEOUT_MS',
      'RESULT_RETENTION_MINUTES',
    ]);
  });

  it('reads MAX_RESULT_BYTES (the JSON result cap, counted as sent) and refuses nonsense', () => {
    expect(loadConfig({ MAX_RESULT_BYTES: '1048576' }).engine.maxResultBytes).toBe(1_048_576);
    expect(problemsOf({ MAX_RESULT_BYTES: '12' })).toEqual([expect.stringMatching(/^MAX_RESULT_BYTES must be a whole number/)]);
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ ADMIN_EMAILS: 'A@x.com' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.roles)).toBe(true);
    expect(Object.isFrozen(config.roles.adminEmails)).toBe(true);
    expect(config.roles.adminEmails).toEqual(['a@x.com']);
  });

  it('accepts a complete production configuration', () => {
    const config = loadConfig({
      ...PRODUCTION,
      TRUST_PROXY: '10.0.0.0/16, 10.1.0.0/16',
      ADMIN_GROUPS: 'ops, dba',
      AUDIT_RETENTION_DAYS: '400',
    });
    expect(config.demo).toBe(false);
    expect(config.trustProxy).toBe('10.0.0.0/16,10.1.0.0/16');
    expect(config.roles.adminGroups).toEqual(['ops', 'dba']);
    expect(config.auditRetentionDays).toBe(400);
    expect(config.oidc?.clientId).toBe('porthole');
  });

  it('refuses demo mode in production and lists every missing setting at once', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems.join('\n')).toMatch(/demo mode .* refused/);
    for (const name of ['PUBLIC_URL', 'SESSION_SECRET', 'OIDC_ISSUER_URL', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET']) {
      expect(problems.some((p) => p.startsWith(name))).toBe(true);
    }
  });

  it('reports all malformed values together', () => {
    const problems = problemsOf({ PORT: 'eighty', MAX_ROWS: '0', LOG_LEVEL: 'loud', DEFAULT_ROLE: 'root', TRUST_PROXY: 'maybe' });
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual(['DEFAULT_ROLE', 'LOG_LEVEL', 'MAX_ROWS', 'PORT', 'TRUST_PROXY']);
    expect(problemsOf({ ...PRODUCTION, TOOLS_DATABASE_URL: 'mysql://x' })).toEqual([
      'TOOLS_DATABASE_URL must use postgres: or postgresql: (got mysql:)',
    ]);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/1 configuration problem:\n {2}- PORT/);
  });

  it('refuses a TRUST_PROXY hop count, which Fastify would silently ignore', () => {
    expect(problemsOf({ ...PRODUCTION, TRUST_PROXY: '1' })[0]).toMatch(/not a hop count/);
    expect(problemsOf({ ...PRODUCTION, TRUST_PROXY: 'the-alb' })[0]).toMatch(/not IPs, CIDRs/);
    expect(loadConfig({ ...PRODUCTION, TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ ...PRODUCTION, TRUST_PROXY: 'loopback' }).trustProxy).toBe('loopback');
  });

  it('requires https and an origin-only PUBLIC_URL in production', () => {
    expect(problemsOf({ ...PRODUCTION, PUBLIC_URL: 'http://porthole.example.com' })).toEqual([
      'PUBLIC_URL must use https in production',
    ]);
    expect(problemsOf({ ...PRODUCTION, PUBLIC_URL: 'https://x.example.com/porthole' })[0]).toMatch(/origin only/);
  });

  it('requires the three OIDC settings together once one is given', () => {
    expect(problemsOf({ OIDC_ISSUER_URL: 'https://login.example.com' })).toHaveLength(2);
  });
});

describe('SESSION_SECRET (THREATS.md 29)', () => {
  it.each([
    ['missing', undefined, /required/],
    ['short', 'abc123', /at least 32/],
    ['one repeated character', 'a'.repeat(40), /repeated/],
    ['a repeated pattern', 'abcd1234'.repeat(5), /repeated/],
    ['a known placeholder', 'changeme-changeme-changeme-0123456789', /placeholder/],
    ['a placeholder word', 'please-replace-this-your-secret-value-now', /placeholder/],
    ['low entropy', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbb', /entropy/],
  ])('refuses a %s secret', (_label, secret, why) => {
    const env: Record<string, string> = { ...PRODUCTION };
    if (secret === undefined) delete env.SESSION_SECRET;
    else env.SESSION_SECRET = secret;
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SESSION_SECRET/);
    expect(problems[0]).toMatch(why);
  });

  it('accepts random secrets of 32+ characters', () => {
    expect(isWeakSecret(STRONG)).toBeUndefined();
    expect(isWeakSecret('0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a')).toBeUndefined();
    expect(isWeakSecret('q8J-2nV_xR4tLm9Wc7Yp1Kd6Hs3Gf0Bz')).toBeUndefined();
  });
});

describe('METRICS_TOKEN (THREATS.md 52)', () => {
  it('is optional: unset, metrics are off', () => {
    expect(problemsOf(PRODUCTION)).toEqual([]);
    expect(loadConfig(PRODUCTION).metricsToken).toBeUndefined();
  });

  it.each([
    ['short', 'metrics123', /at least 32/],
    ['repeated', 'ab'.repeat(20), /repeated/],
    ['placeholder', 'changeme-metrics-token-0123456789abcdef', /placeholder/],
    ['low in entropy', 'mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmtttttttttttttttt', /entropy/],
  ])('refuses a %s token', (_label, token, why) => {
    const problems = problemsOf({ ...PRODUCTION, METRICS_TOKEN: token });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^METRICS_TOKEN is refused/);
    expect(problems[0]).toMatch(why);
  });

  it('keeps a strong token', () => {
    const token = 'Vb7Qe2Lk9Xw4Tz1Nc8Rm5Hy3Ja6Pd0Gs';
    expect(loadConfig({ ...PRODUCTION, METRICS_TOKEN: token }).metricsToken).toBe(token);
  });
});
