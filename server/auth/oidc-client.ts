// The relying-party side of OpenID Connect (authorization code flow with PKCE S256, state and nonce),
// through openid-client v6. Discovery happens on first use, not at start-up, so Porthole starts (and
// reports healthy) while the identity provider is briefly unreachable.
import * as oidc from 'openid-client';
import type { OidcConfig } from '../config.js';
import { isLoopbackHost } from '../config.js';
import type { PendingLogin } from '../plugins/session.js';

export interface LoginRequest {
  authorizationUrl: string;
  pending: Omit<PendingLogin, 'returnTo' | 'startedAt'>;
}

export interface VerifiedLogin {
  issuer: string;
  claims: oidc.IDToken;
  idToken: string;
}

export class OidcClient {
  private configuration?: Promise<oidc.Configuration>;

  constructor(
    private readonly settings: OidcConfig,
    private readonly publicUrl: string,
  ) {}

  get redirectUri(): string {
    return `${this.publicUrl}/auth/callback`;
  }

  private discover(): Promise<oidc.Configuration> {
    // Plain http is accepted only for an identity provider on loopback (the demo's and the tests').
    const loopbackHttp = this.settings.issuerUrl.startsWith('http:') && isLoopbackHost(new URL(this.settings.issuerUrl).hostname);
    this.configuration ??= oidc
      .discovery(new URL(this.settings.issuerUrl), this.settings.clientId, this.settings.clientSecret, undefined, {
        timeout: 10,
        ...(loopbackHttp ? { execute: [oidc.allowInsecureRequests] } : {}),
      })
      .then((configuration) => {
        // Also verify ID token signatures against the provider's JWKS. OIDC Core (3.1.3.7) lets a client
        // rely on TLS to the token endpoint alone; a second check costs one cached JWKS fetch.
        oidc.enableNonRepudiationChecks(configuration);
        return configuration;
      })
      .catch((error: unknown) => {
        this.configuration = undefined; // try again on the next login
        throw error;
      });
    return this.configuration;
  }

  async startLogin(): Promise<LoginRequest> {
    const config = await this.discover();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: this.settings.scopes,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { authorizationUrl: url.href, pending: { state, nonce, codeVerifier } };
  }

  /** Exchanges the code and verifies the ID token (signature, issuer, audience, expiry, nonce). */
  async finishLogin(callbackUrl: URL, pending: PendingLogin): Promise<VerifiedLogin> {
    const config = await this.discover();
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims || !tokens.id_token) throw new Error('the identity provider returned no ID token');
    return { issuer: config.serverMetadata().issuer, claims, idToken: tokens.id_token };
  }

  /**
   * Whether the provider advertises RP-initiated logout (end_session_endpoint). Only then is the ID token
   * worth keeping in the session: sign-out sends it back as id_token_hint, and nothing else reads it.
   */
  async endsSessions(): Promise<boolean> {
    const config = await this.discover().catch(() => undefined);
    return !!config?.serverMetadata().end_session_endpoint;
  }

  /** The provider's end-session URL, when it offers one. */
  async logoutUrl(idToken: string | undefined, postLogoutRedirectUri: string): Promise<string | undefined> {
    const config = await this.discover().catch(() => undefined);
    if (!config?.serverMetadata().end_session_endpoint) return undefined;
    const parameters: Record<string, string> = {
      post_logout_redirect_uri: postLogoutRedirectUri,
      client_id: this.settings.clientId,
    };
    if (idToken) parameters.id_token_hint = idToken;
    return oidc.buildEndSessionUrl(config, parameters).href;
  }
}
