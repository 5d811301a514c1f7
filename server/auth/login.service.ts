// The rules of signing in and out: which checks a callback must pass, how a user and their role are
// recorded, and what is audited. Routes stay thin; openid-client does the protocol (oidc-client.ts).
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import type { AuditLog } from '../audit/service.js';
import type { Config } from '../config.js';
import type { PendingLogin } from '../plugins/session.js';
import type { SessionUser } from './guards.js';
import type { OidcClient } from './oidc-client.js';
import { groupsFromClaim, roleFor } from './roles.js';
import { countPendingLogins } from './session.repository.js';
import { findUserByIdentity, upsertUser } from './users.repository.js';

/**
 * A pending login older than this is refused: the user took too long at the provider or it was replayed.
 * Its session row expires at the same time (session-store.ts).
 */
export const PENDING_LOGIN_TTL_MS = 15 * 60_000;
/**
 * Sign-ins in progress (anonymous session rows) at most, across all tasks. Each is cheap and expires in
 * 15 minutes, and the per-address rate limit bounds each address; this bounds them all (THREATS.md 52).
 */
export const MAX_PENDING_LOGINS = 10_000;
/** Text from the provider or a library shown on the failure page is cut here; nothing of it is stored. */
const SHOWN_DETAIL_MAX = 200;

export type LoginFailureReason =
  | 'no_pending_login'
  | 'pending_login_expired'
  | 'state_mismatch'
  | 'provider_error'
  | 'token_rejected'
  | 'provider_unreachable'
  | 'missing_subject'
  | 'too_many_pending_logins';

export class LoginFailure extends Error {
  constructor(
    readonly reason: LoginFailureReason,
    message: string,
    readonly statusCode = 400,
    /** The provider's `error` parameter when it is a plain OAuth error code (the only provider text kept). */
    readonly providerCode?: string,
  ) {
    super(message);
  }
}

const cut = (text: string) => (text.length > SHOWN_DETAIL_MAX ? `${text.slice(0, SHOWN_DETAIL_MAX)}…` : text);

/** OAuth error codes are short ASCII words (RFC 6749 4.1.2.1); anything else is recorded as "other". */
function oauthErrorCode(value: string): string {
  return /^[a-z0-9_.-]{1,40}$/i.test(value) ? value : 'other';
}

export interface CompletedLogin {
  user: SessionUser;
  /** Kept for sign-out (id_token_hint) when the provider has an end-session endpoint; absent otherwise. */
  idToken?: string;
  returnTo: string;
}

function claimString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

export class LoginService {
  constructor(private readonly deps: { db: Kysely<Database>; audit: AuditLog; oidc: OidcClient; config: Config }) {}

  async begin(returnTo: string): Promise<{ authorizationUrl: string; pending: PendingLogin }> {
    if ((await countPendingLogins(this.deps.db)) >= MAX_PENDING_LOGINS) {
      throw new LoginFailure(
        'too_many_pending_logins',
        'Too many sign-ins are in progress right now. Try again in a few minutes.',
        503,
      );
    }
    try {
      const { authorizationUrl, pending } = await this.deps.oidc.startLogin();
      return { authorizationUrl, pending: { ...pending, returnTo, startedAt: Date.now() } };
    } catch (error) {
      throw new LoginFailure('provider_unreachable', `The identity provider could not be reached (${cut(String(error))}).`, 502);
    }
  }

  /** Verifies the provider's answer against the pending login, then records the user and their role. */
  async complete(callbackUrl: URL, pending: PendingLogin | undefined, clientIp: string): Promise<CompletedLogin> {
    if (!pending) throw new LoginFailure('no_pending_login', 'There is no sign-in in progress in this browser. Start again.');
    if (Date.now() - pending.startedAt > PENDING_LOGIN_TTL_MS)
      throw new LoginFailure('pending_login_expired', 'The sign-in took too long. Start again.');
    const providerError = callbackUrl.searchParams.get('error');
    if (providerError) {
      const description = callbackUrl.searchParams.get('error_description');
      throw new LoginFailure(
        'provider_error',
        `The identity provider refused the sign-in: ${cut(providerError)}${description ? ` (${cut(description)})` : ''}.`,
        400,
        oauthErrorCode(providerError),
      );
    }
    if (callbackUrl.searchParams.get('state') !== pending.state) {
      throw new LoginFailure('state_mismatch', 'This sign-in response does not belong to the sign-in this browser started.');
    }
    if (!pending.codeVerifier) throw new LoginFailure('token_rejected', 'The sign-in lost its PKCE verifier. Start again.');

    let verified;
    try {
      verified = await this.deps.oidc.finishLogin(callbackUrl, pending);
    } catch (error) {
      throw new LoginFailure(
        'token_rejected',
        `The identity provider's answer was rejected: ${cut(error instanceof Error ? error.message : String(error))}`,
      );
    }
    const { claims } = verified;
    if (!claims.sub) throw new LoginFailure('missing_subject', 'The ID token names no subject.');

    const email = claimString(claims.email)?.toLowerCase() ?? null;
    const groups = groupsFromClaim(claims[this.deps.config.oidcGroupsClaim]);
    const role = roleFor(
      { email, emailVerified: typeof claims.email_verified === 'boolean' ? claims.email_verified : undefined, groups },
      this.deps.config.roles,
    );
    const name = claimString(claims.name) ?? claimString(claims.preferred_username) ?? email;

    const { user, previousRole } = await this.deps.db.transaction().execute(async (trx) => {
      const existing = await findUserByIdentity(trx, verified.issuer, claims.sub);
      const saved = await upsertUser(trx, { issuer: verified.issuer, subject: claims.sub, email, name, groups, role });
      return { user: saved, previousRole: existing?.role };
    });

    const sessionUser: SessionUser = { id: user.id, email: user.email, name: user.name, role: user.role, groups: user.groups };
    const actor = { id: user.id, email: user.email };
    if (previousRole && previousRole !== role) {
      await this.deps.audit.record({
        action: 'auth.role_changed',
        actor,
        clientIp,
        details: { from: previousRole, to: role, groups },
      });
    }
    await this.deps.audit.record({
      action: 'auth.login',
      actor,
      outcome: 'ok',
      clientIp,
      details: { role, issuer: verified.issuer, newUser: !previousRole },
    });
    const idToken = (await this.deps.oidc.endsSessions()) ? verified.idToken : undefined;
    return { user: sessionUser, ...(idToken ? { idToken } : {}), returnTo: pending.returnTo };
  }

  /**
   * Anyone on the network can fail a sign-in, so what is stored is small and fixed in size: the reason
   * code, the provider's error code (when it is one) and the address. The message, which may carry the
   * provider's or a library's text, is shown to the user and logged, never stored. Refusals for too many
   * sign-ins in progress are not recorded: they happen under a flood, and recording them would be the flood.
   */
  async recordFailure(failure: LoginFailure, clientIp: string): Promise<void> {
    if (failure.reason === 'too_many_pending_logins') return;
    await this.deps.audit.record({
      action: 'auth.login_failed',
      outcome: 'denied',
      errorCode: failure.reason,
      clientIp,
      details: { reason: failure.reason, ...(failure.providerCode ? { providerError: failure.providerCode } : {}) },
    });
  }

  async logout(user: SessionUser | undefined, idToken: string | undefined, clientIp: string): Promise<{ redirectTo: string }> {
    if (user)
      await this.deps.audit.record({ action: 'auth.logout', actor: { id: user.id, email: user.email }, outcome: 'ok', clientIp });
    const providerLogout = await this.deps.oidc.logoutUrl(idToken, `${this.deps.config.publicUrl}/`);
    return { redirectTo: providerLogout ?? '/' };
  }
}
