// The demo identity provider: a real OpenID provider (oidc-provider) on its own loopback port, with three
// demo users picked with one click. Demo mode and tests only; the production entry never loads it.
import { demoMemoryAdapter } from './idp-memory-adapter.js';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

export interface DemoUser {
  id: string;
  name: string;
  email: string;
  groups: string[];
  /** What the one-click card says the user can do. */
  description: string;
}

/**
 * Groups the demo maps to roles (see withDemoSettings): porthole-admins -> admin, product -> viewer.
 * `support` reads the demo's sensitive columns (the pii tier, issue #13): Ada has it, Eddie and Vera do not.
 */
export const DEMO_USERS: DemoUser[] = [
  {
    id: 'ada',
    name: 'Ada Admin',
    email: 'ada@porthole.demo',
    groups: ['porthole-admins', 'engineering', 'support'],
    description: 'Admin, in support: reviews the audit log, reads contact details (pii tier)',
  },
  {
    id: 'eddie',
    name: 'Eddie Editor',
    email: 'eddie@porthole.demo',
    groups: ['engineering'],
    description: 'Editor: writes, runs and saves SQL; contact details are restricted',
  },
  {
    id: 'vera',
    name: 'Vera Viewer',
    email: 'vera@porthole.demo',
    groups: ['product'],
    description: 'Viewer: runs shared queries, no free SQL',
  },
];

export interface DemoProviderOptions {
  port: number;
  clientId: string;
  clientSecret: string;
  /** Porthole's origin: the redirect URIs and the sign-in page's form target derive from it. */
  portholeUrl: string;
  users?: DemoUser[];
}

export interface DemoProvider {
  issuer: string;
  stop(): Promise<void>;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (text: string) => text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);

const STYLE = `body{font-family:system-ui,sans-serif;background:#f1f5f9;color:#0f172a;margin:0;display:grid;place-items:center;min-height:100vh}
main{background:#fff;border:1px solid #e2e8f0;border-radius:12px;padding:28px 32px;max-width:460px;width:100%}
h1{font-size:1.3rem;margin:0 0 4px}.note{color:#b45309;background:#fffbeb;border:1px solid #fde68a;border-radius:8px;padding:8px 12px;font-size:.9rem}
form{margin:0}button{display:block;width:100%;text-align:left;margin:10px 0;padding:12px 14px;border:1px solid #cbd5e1;border-radius:8px;background:#fff;font:inherit;cursor:pointer}
button:hover,button:focus-visible{border-color:#1d4ed8;outline:2px solid #1d4ed8}button strong{display:block}button span{color:#475569;font-size:.9rem}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

function signInPage(uid: string, users: DemoUser[]): string {
  const cards = users
    .map(
      (user) =>
        `<button type="submit" name="user" value="${esc(user.id)}"><strong>${esc(user.name)}</strong><span>${esc(user.description)} · ${esc(user.email)}</span></button>`,
    )
    .join('');
  return page(
    'Demo sign-in · Porthole',
    `<h1>Porthole demo sign-in</h1>
<p class="note">This is the demo's built-in identity provider, not a real one. Pick a user to sign in as.</p>
<form method="post" action="/interaction/${esc(uid)}/login">${cards}</form>`,
  );
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function configuration(options: DemoProviderOptions, users: DemoUser[]): Configuration {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: [`${options.portholeUrl}/auth/callback`],
        post_logout_redirect_uris: [`${options.portholeUrl}/`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [privateKey.export({ format: 'jwk' }) as never] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    adapter: demoMemoryAdapter(),
    pkce: { required: () => true },
    // Explicit lifetimes (seconds), short as befits a demo; oidc-provider warns about its defaults.
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 8 * 3600, Grant: 8 * 3600 },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    // Put the scope's claims in the ID token, which is what Porthole reads (as Entra ID, Okta and Cognito can).
    conformIdTokenClaims: false,
    findAccount: async (_ctx, sub) => {
      const user = users.find((u) => u.id === sub);
      if (!user) return undefined;
      return {
        accountId: user.id,
        claims: async () => ({ sub: user.id, email: user.email, email_verified: true, name: user.name, groups: user.groups }),
      };
    },
    // A first-party demo client: consent is implied, so a fresh grant covers whatever was asked for.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope([...(ctx.oidc.requestParamScopes ?? [])].join(' '));
      await grant.save();
      return grant;
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          // Porthole sends its ID token as id_token_hint, which oidc-provider has verified by now (signature,
          // audience, a registered post_logout_redirect_uri): the request comes from Porthole for this user,
          // so the demo's session ends too without a second question, and switching demo users takes one
          // click. Without a hint (someone else's link) the question stays: that is the CSRF guard.
          if (ctx.oidc.entities.IdTokenHint && ctx.oidc.client) {
            const confirmed = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
            const submit = "document.getElementById('op.logoutForm').submit();";
            const hash = createHash('sha256').update(submit).digest('base64');
            ctx.set(
              'content-security-policy',
              `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; form-action 'self' ${options.portholeUrl}; frame-ancestors 'none'`,
            );
            ctx.body = page(
              'Signing out · Porthole demo',
              `<h1>Signing out…</h1><p>Ending the demo identity provider's session too.</p>${confirmed}
<noscript><button autofocus type="submit" form="op.logoutForm"><strong>Continue</strong></button></noscript>
<script>${submit}</script>`,
            );
            return;
          }
          ctx.body = page(
            'Sign out · Porthole demo',
            `<h1>Sign out of the demo identity provider?</h1><p>A page asked to end your demo session.</p>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout"><strong>Yes, sign out</strong></button>
<button type="submit" form="op.logoutForm"><strong>No, stay signed in</strong></button>`,
          );
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page(
            'Signed out · Porthole demo',
            `<h1>Signed out</h1><p><a href="${esc(options.portholeUrl)}/">Back to Porthole</a></p>`,
          );
        },
      },
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page(
        'Sign-in error · Porthole demo',
        `<h1>Sign-in error</h1><p>${esc(String(out.error))}: ${esc(String(out.error_description ?? ''))}</p>`,
      );
    },
  };
}

export async function startDemoIdentityProvider(options: DemoProviderOptions): Promise<DemoProvider> {
  const users = options.users ?? DEMO_USERS;
  // Listen first: with port 0 the issuer (which must match exactly) is known only then.
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, configuration(options, users));
  const providerCallback = provider.callback();

  server.on('request', async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(url.pathname);
    if (!match) return providerCallback(req, res);
    try {
      // The sign-in page has its own policy: inline styles only, forms may go to us and on to Porthole.
      res.setHeader(
        'content-security-policy',
        `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${options.portholeUrl}; frame-ancestors 'none'`,
      );
      const details = await provider.interactionDetails(req, res);
      if (match[1] !== details.uid) throw new Error('interaction mismatch');
      if (req.method === 'GET' && !match[2]) {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.setHeader('cache-control', 'no-store');
        return res.end(signInPage(details.uid, users));
      }
      if (req.method === 'POST' && match[2]) {
        const chosen = (await readForm(req)).get('user');
        const user = users.find((u) => u.id === chosen);
        if (!user) {
          res.statusCode = 400;
          return res.end('unknown demo user');
        }
        return await provider.interactionFinished(
          req,
          res,
          { login: { accountId: user.id } },
          { mergeWithLastSubmission: false },
        );
      }
      res.statusCode = 405;
      res.end();
    } catch (error) {
      res.statusCode = 400;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(
        page(
          'Sign-in error · Porthole demo',
          `<h1>Sign-in error</h1><p>${esc(error instanceof Error ? error.message : String(error))}</p>`,
        ),
      );
    }
  });

  return {
    issuer,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
