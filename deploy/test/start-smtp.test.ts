// The container entry point's SMTP step (deploy/container/start.mjs): SES SMTP credentials arrive as a
// Secrets Manager document in SMTP_SECRET and SMTP_HOST names the endpoint; start.mjs turns them into
// SMTP_URL. Each case runs the real entry point as a process, which starts a script that loads the
// app's configuration and sends an email with the app's mailer to a real SMTP server on loopback that
// requires the credentials.
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcess, TSX_LOADER } from '../../test/support/processes.js';

const START = path.resolve('deploy/container/start.mjs');
const SCRIPT = path.resolve('test/fixtures/container/send-alert-mail.ts');
// An IAM user's SMTP password is base64 (+, /, =); the user name may be anything a document holds.
const USERNAME = 'smtp/test+user@ses';
const PASSWORD = 'BPw+x/y:z%20@=';

let smtp: SMTPServer;
let port: number;
const logins: Array<{ username: string; password: string }> = [];
const mails: string[] = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    // SES's endpoint offers STARTTLS; this loopback stand-in has no certificate, so plain AUTH is allowed.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push({ username: auth.username ?? '', password: auth.password ?? '' });
      if (auth.username === USERNAME && auth.password === PASSWORD) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, _session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      stream.on('end', () => {
        mails.push(raw);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  port = (smtp.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

async function runEntryPoint(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const proc = startProcess(process.execPath, ['--import', TSX_LOADER, START, SCRIPT], {
    cwd: process.cwd(),
    env: { PATH: process.env.PATH, NODE_ENV: 'test', ALERT_FROM: 'Porthole <porthole@example.com>', ...env },
  });
  const code = await proc.exited;
  return { code, output: proc.output() };
}

const report = (output: string) => JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, unknown>;

describe('start.mjs: SES SMTP credentials become SMTP_URL', { timeout: 60_000 }, () => {
  it('authenticates with the credentials exactly as the document holds them, and drops the document', async () => {
    const before = mails.length;
    const document = JSON.stringify({ username: USERNAME, password: PASSWORD });
    const { code, output } = await runEntryPoint({ SMTP_SECRET: document, SMTP_HOST: `127.0.0.1:${port}` });
    expect(code, output).toBe(0);
    expect(report(output)).toEqual({ email: 'sent', host: `127.0.0.1:${port}`, smtpSecret: false, smtpHost: false });
    expect(logins.at(-1)).toEqual({ username: USERNAME, password: PASSWORD });
    expect(mails.length).toBe(before + 1);
    expect(mails.at(-1)).toContain('Subject: From the container entry point');
    expect(mails.at(-1)).toContain('From: Porthole <porthole@example.com>');
  });

  it('uses port 587 (SES STARTTLS) when SMTP_HOST names no port', async () => {
    const document = JSON.stringify({ username: USERNAME, password: PASSWORD });
    // Nothing listens on 127.0.0.1:587 here: the send fails, naming the port it tried.
    const { code, output } = await runEntryPoint({ SMTP_SECRET: document, SMTP_HOST: '127.0.0.1' });
    expect(code).not.toBe(0);
    expect(output).toMatch(/127\.0\.0\.1:587/);
  });

  it("leaves email off with the stack's placeholder document (empty username)", async () => {
    const { code, output } = await runEntryPoint({
      SMTP_SECRET: JSON.stringify({ username: '', password: '' }),
      SMTP_HOST: `127.0.0.1:${port}`,
    });
    expect(code, output).toBe(0);
    expect(report(output)).toEqual({ email: 'off', smtpSecret: false, smtpHost: false });
  });

  it('keeps an SMTP_URL given outright', async () => {
    const loginsBefore = logins.length;
    const url = `smtp://${encodeURIComponent(USERNAME)}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`;
    const { code, output } = await runEntryPoint({
      SMTP_URL: url,
      SMTP_SECRET: JSON.stringify({ username: 'someone-else', password: 'not-this-one' }),
      SMTP_HOST: '127.0.0.1:1',
    });
    expect(code, output).toBe(0);
    expect(report(output)).toMatchObject({ email: 'sent', host: `127.0.0.1:${port}` });
    expect(logins.slice(loginsBefore)).toEqual([{ username: USERNAME, password: PASSWORD }]);
  });

  it('refuses to start on a document that is not JSON, and never prints it', async () => {
    const { code, output } = await runEntryPoint({ SMTP_SECRET: `{"username": "u", "password": "${PASSWORD}"`, SMTP_HOST: 'x' });
    expect(code).toBe(1);
    expect(output).toContain('SMTP_SECRET is not a JSON document with username and password');
    expect(output).not.toContain(PASSWORD);
  });
});
