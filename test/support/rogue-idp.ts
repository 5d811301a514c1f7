// An identity provider that misbehaves on purpose (THREATS.md 32): a real HTTP server on loopback with
// discovery, JWKS, an authorization endpoint that answers at once, and a token endpoint that returns an
// ID token broken in the way the current scenario says.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, SignJWT, type JWK } from 'jose';

export type RogueScenario =
  'valid' | 'wrong-nonce' | 'wrong-audience' | 'wrong-issuer' | 'alg-none' | 'expired' | 'bad-signature';

export interface RogueIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  scenario: RogueScenario;
  /** Whether the last token request carried a code_verifier matching the challenge. */
  lastPkceOk?: boolean;
  stop(): Promise<void>;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export async function startRogueIdp(): Promise<RogueIdp> {
  const signing = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicJwk: JWK = { ...(await exportJWK(signing.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { nonce: string; challenge: string }>();

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', idp.issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: idp.issuer,
        authorization_endpoint: `${idp.issuer}/authorize`,
        token_endpoint: `${idp.issuer}/token`,
        jwks_uri: `${idp.issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
      });
    }
    if (url.pathname === '/jwks') return json(200, { keys: [publicJwk] });
    if (url.pathname === '/authorize') {
      const code = randomBytes(12).toString('hex');
      codes.set(code, { nonce: url.searchParams.get('nonce') ?? '', challenge: url.searchParams.get('code_challenge') ?? '' });
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      const grant = codes.get(form.get('code') ?? '');
      if (!grant) return json(400, { error: 'invalid_grant' });
      codes.delete(form.get('code')!);
      const verifier = form.get('code_verifier') ?? '';
      idp.lastPkceOk = createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
      if (!idp.lastPkceOk) return json(400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
      const now = Math.floor(Date.now() / 1000);
      const s = idp.scenario;
      const claims = {
        iss: s === 'wrong-issuer' ? 'https://evil.example' : idp.issuer,
        aud: s === 'wrong-audience' ? 'someone-else' : idp.clientId,
        sub: 'rogue-user',
        email: 'rogue@example.com',
        nonce: s === 'wrong-nonce' ? 'not-the-nonce' : grant.nonce,
        iat: s === 'expired' ? now - 7200 : now,
        exp: s === 'expired' ? now - 3600 : now + 600,
      };
      const idToken =
        s === 'alg-none'
          ? `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`
          : await new SignJWT(claims)
              .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
              .sign(s === 'bad-signature' ? other.privateKey : signing.privateKey);
      return json(200, {
        access_token: randomBytes(16).toString('hex'),
        token_type: 'Bearer',
        expires_in: 600,
        id_token: idToken,
      });
    }
    json(404, { error: 'not_found' });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const idp: RogueIdp = {
    issuer: `http://127.0.0.1:${port}`,
    clientId: 'porthole-test',
    clientSecret: 'rogue-secret',
    scenario: 'valid',
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return idp;
}
