// Email for alerts through nodemailer: SMTP_URL in production (SES's SMTP interface through its VPC
// endpoint); in demo mode a transport that writes each message to .porthole/outbox/ as an .eml file,
// so the demo needs no mail catcher and the check page can link to what was "sent".
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';

export interface MailToSend {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /** Resolves with the outbox file name in demo mode. */
  send(mail: MailToSend): Promise<{ outboxFile?: string }>;
  close(): void;
}

export function smtpMailer(smtpUrl: string, from: string): Mailer {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(mail) {
      await transport.sendMail({ from, ...mail });
      return {};
    },
    close: () => transport.close(),
  };
}

export function outboxMailer(dir: string, from: string): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(mail) {
      const info = await transport.sendMail({ from, ...mail });
      await mkdir(dir, { recursive: true });
      const file = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}.eml`;
      await writeFile(path.join(dir, file), info.message as Buffer);
      return { outboxFile: file };
    },
    close: () => undefined,
  };
}
