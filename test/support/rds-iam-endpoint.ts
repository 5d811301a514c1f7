// A stand-in for what RDS does with IAM database authentication, for tests: it speaks the PostgreSQL
// protocol on loopback, insists on TLS (RDS takes tokens only over TLS), asks for a cleartext password,
// and checks that password the way AWS checks an IAM token: a SigV4 presigned URL for
// `<endpoint>/?Action=connect&DBUser=<user>`, service rds-db, in its region, signed by a key it knows,
// not expired (X-Amz-Expires at most 900 s), for the user logging in, who must be a member of rds_iam.
// The signature is recomputed here from the secret with node:crypto, independently of the AWS SDK that
// signed it. A verified connection is handed to a real PostgreSQL whose pg_hba.conf trusts members of
// rds_iam from loopback (only this endpoint connects that way); anything else gets RDS's answer, a
// FATAL "PAM authentication failed", and is closed. Cancel requests are passed through.
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import pg from 'pg';

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const GSSENC_REQUEST = 80877104;
const MAX_TOKEN_AGE_S = 900;
/** Clock skew RDS tolerates for a token dated in the future. */
const FUTURE_SKEW_S = 300;
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

export interface RdsIamEndpointOptions {
  /** The real PostgreSQL behind it (its pg_hba.conf trusts members of rds_iam on loopback). */
  upstream: { host: string; port: number };
  /** A superuser URL of that server, to look up rds_iam membership as RDS does. */
  adminUrl: string;
  /** The server certificate and key presented to clients. */
  tls: { certFile: string; keyFile: string };
  /** The IAM identities AWS knows: access key id -> secret access key. */
  keys: Record<string, string>;
  region: string;
  /** The host name clients use (the token must be signed for `<host>:<port>`). */
  host: string;
}

export interface LoginAttempt {
  user: string;
  token: string;
  /** X-Amz-Date of the token, when it had one. */
  signedAt?: string;
  accepted: boolean;
  /** Why it was refused. */
  reason?: string;
}

export interface TokenCheck {
  endpoint: string;
  user: string;
  region: string;
  keys: Record<string, string>;
  nowMs: number;
}

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
const encode = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** Why AWS would refuse the token, or undefined when it would accept it. */
export function rdsIamTokenProblem(token: string, check: TokenCheck): string | undefined {
  const at = token.indexOf('/?');
  if (at < 0) return 'not a presigned URL';
  const endpoint = token.slice(0, at);
  if (endpoint !== check.endpoint) return `signed for ${endpoint}, not ${check.endpoint}`;
  const params = new URLSearchParams(token.slice(at + 2));
  const one = (name: string) => (params.getAll(name).length === 1 ? params.get(name)! : undefined);
  if (one('Action') !== 'connect') return 'Action is not connect';
  if (one('DBUser') !== check.user) return `DBUser is ${String(one('DBUser'))}, not ${check.user}`;
  if (one('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return 'not AWS4-HMAC-SHA256';
  if (one('X-Amz-SignedHeaders') !== 'host') return 'signed headers are not just host';
  const expires = Number(one('X-Amz-Expires'));
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_TOKEN_AGE_S)
    return `X-Amz-Expires ${String(one('X-Amz-Expires'))}`;
  const amzDate = one('X-Amz-Date') ?? '';
  const dated = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!dated) return 'no X-Amz-Date';
  const signedAtMs = Date.UTC(+dated[1]!, +dated[2]! - 1, +dated[3]!, +dated[4]!, +dated[5]!, +dated[6]!);
  if (check.nowMs > signedAtMs + expires * 1000) return 'expired';
  if (signedAtMs > check.nowMs + FUTURE_SKEW_S * 1000) return 'dated in the future';
  const [keyId, day, region, service, terminator, ...rest] = (one('X-Amz-Credential') ?? '').split('/');
  if (rest.length || terminator !== 'aws4_request') return 'malformed credential scope';
  if (day !== amzDate.slice(0, 8)) return 'credential date is not the signing date';
  if (service !== 'rds-db') return `service ${String(service)}, not rds-db`;
  if (region !== check.region) return `region ${String(region)}, not ${check.region}`;
  const secret = check.keys[keyId!];
  if (secret === undefined) return `unknown access key ${String(keyId)}`;

  const canonicalQuery = [...params.entries()]
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [encode(name), encode(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${endpoint}`, '', 'host', EMPTY_SHA256].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join(
    '\n',
  );
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, day!), region!), service!), 'aws4_request');
  const expected = hmac(signingKey, stringToSign).toString('hex');
  return one('X-Amz-Signature') === expected ? undefined : 'signature does not match';
}

/** Reads exact byte counts from a socket that is in flowing mode. */
class SocketReader {
  private buffer = Buffer.alloc(0);
  private wake?: () => void;
  private closed = false;
  private readonly onData = (chunk: Buffer) => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.wake?.();
  };
  private readonly onClose = () => {
    this.closed = true;
    this.wake?.();
  };

  constructor(private readonly socket: net.Socket | tls.TLSSocket) {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('end', this.onClose);
  }

  async take(length: number): Promise<Buffer> {
    while (this.buffer.length < length) {
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const out = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    return out;
  }

  /** Stops reading; returns what arrived beyond what was taken. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    this.socket.off('end', this.onClose);
    return this.buffer;
  }
}

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}

/** An ErrorResponse, FATAL, as the server sends when it refuses a login. */
function fatal(code: string, text: string): Buffer {
  const field = (tag: string, value: string) =>
    Buffer.concat([Buffer.from(tag, 'latin1'), Buffer.from(value, 'utf8'), Buffer.alloc(1)]);
  return message(
    'E',
    Buffer.concat([field('S', 'FATAL'), field('V', 'FATAL'), field('C', code), field('M', text), Buffer.alloc(1)]),
  );
}

function startupParameters(body: Buffer): Record<string, string> {
  const parts = body.subarray(4).toString('utf8').split('\0');
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length && parts[i]; i += 2) out[parts[i]!] = parts[i + 1]!;
  return out;
}

export class RdsIamEndpoint {
  readonly logins: LoginAttempt[] = [];
  /** Connections that ended before a password was sent: no TLS asked for, or the handshake abandoned. */
  readonly refusedBeforeLogin: string[] = [];
  private readonly server: net.Server;
  private readonly secureContext: tls.SecureContext;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly options: RdsIamEndpointOptions) {
    this.secureContext = tls.createSecureContext({
      cert: readFileSync(options.tls.certFile),
      key: readFileSync(options.tls.keyFile),
    });
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      this.handle(socket).catch(() => socket.destroy());
    });
  }

  /** host:port, as a token must name it. */
  get endpoint(): string {
    return `${this.options.host}:${this.port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(raw: net.Socket): Promise<void> {
    const plain = new SocketReader(raw);
    const length = (await plain.take(4)).readInt32BE();
    const first = await plain.take(length - 4);
    const code = first.readInt32BE();
    if (code === CANCEL_REQUEST) {
      plain.detach();
      const upstream = net.connect(this.options.upstream);
      upstream.on('error', () => undefined);
      upstream.end(Buffer.concat([int32(length), first]));
      upstream.on('close', () => raw.destroy());
      return;
    }
    if (code === GSSENC_REQUEST) {
      raw.destroy();
      return;
    }
    if (code !== SSL_REQUEST) {
      this.refusedBeforeLogin.push('a startup message without TLS');
      raw.end(fatal('28000', 'pg_hba.conf rejects connection: no encryption (IAM authentication requires SSL)'));
      return;
    }
    plain.detach();
    raw.write('S');
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.secureContext });
    let handshook = false;
    secure.once('secure', () => (handshook = true));
    secure.on('error', () => raw.destroy());
    secure.on('close', () => {
      if (!handshook) this.refusedBeforeLogin.push('the client gave up during the TLS handshake');
    });
    const reader = new SocketReader(secure);
    const startLength = (await reader.take(4)).readInt32BE();
    const startup = await reader.take(startLength - 4);
    const { user = '' } = startupParameters(startup);
    secure.write(message('R', int32(3))); // AuthenticationCleartextPassword
    const type = (await reader.take(1)).toString('latin1');
    const passwordLength = (await reader.take(4)).readInt32BE();
    const password = (await reader.take(passwordLength - 4)).toString('utf8').replace(/\0$/, '');
    if (type !== 'p') {
      secure.end(fatal('08P01', 'expected a password message'));
      return;
    }
    const signedAt = /X-Amz-Date=(\d{8}T\d{6}Z)/.exec(password)?.[1];
    const reason =
      rdsIamTokenProblem(password, {
        endpoint: this.endpoint,
        user,
        region: this.options.region,
        keys: this.options.keys,
        nowMs: Date.now(),
      }) ?? ((await this.hasRdsIam(user)) ? undefined : `${user} is not a member of rds_iam`);
    this.logins.push({ user, token: password, signedAt, accepted: reason === undefined, reason });
    if (reason) {
      secure.end(fatal('28P01', `PAM authentication failed for user "${user}"`));
      return;
    }
    // Verified: the real server takes it from the startup message on (pg_hba.conf trusts rds_iam members).
    const upstream = net.connect(this.options.upstream);
    const leftover = reader.detach();
    upstream.on('error', () => secure.destroy());
    secure.on('close', () => upstream.destroy());
    upstream.on('close', () => secure.destroy());
    upstream.write(Buffer.concat([int32(startLength), startup, leftover]));
    upstream.pipe(secure);
    secure.pipe(upstream);
  }

  private async hasRdsIam(user: string): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.options.adminUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ member: boolean }>(
        `select case when exists (select from pg_roles where rolname = $1) then pg_has_role($1, 'rds_iam', 'MEMBER') else false end as member`,
        [user],
      );
      return rows[0]!.member;
    } finally {
      await client.end();
    }
  }
}
