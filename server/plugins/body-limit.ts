// Bodies over the limit get a clean 413 {error:{code}}. The answer waits until the body has been read to
// its end (and thrown away): answering while a proxy (the ALB) is still streaming the upload and then
// closing makes it see a reset, so the client got a cut connection instead of the 413. Past
// DRAIN_LIMIT_BYTES the upload is not worth reading: the answer goes at once and the connection closes.
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { errorBody } from '../lib/errors.js';

export const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/** Reads and discards the rest of the body; false when it goes past `maxBytes` (then it stops reading). */
export function drainBody(raw: IncomingMessage, maxBytes = DRAIN_LIMIT_BYTES): Promise<boolean> {
  if (raw.readableEnded || raw.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    let read = 0;
    const finish = (drained: boolean) => {
      raw.off('data', count).off('end', ended).off('error', failed).off('close', failed);
      resolve(drained);
    };
    const count = (chunk: Buffer) => {
      read += chunk.length;
      if (read > maxBytes) {
        raw.pause();
        finish(false);
      }
    };
    const ended = () => finish(true);
    const failed = () => finish(false);
    raw.on('data', count).on('end', ended).on('error', failed).on('close', failed);
    raw.resume();
  });
}

export function mebibytes(bytes: number): string {
  return `${Number((bytes / 1024 / 1024).toFixed(1))} MiB`;
}

/** Sends the 413 once the body is drained (or closes the connection when it is too big to drain). */
export async function answerTooLarge(raw: IncomingMessage, reply: FastifyReply, limit: number): Promise<FastifyReply> {
  const drained = await drainBody(raw);
  if (!drained) reply.header('connection', 'close');
  return reply
    .status(413)
    .send(errorBody('payload_too_large', `The request body is larger than ${mebibytes(limit)}, the limit for a request.`));
}

export const bodyLimitPlugin = fp(async function bodyLimit(app: FastifyInstance, opts: { limit: number }) {
  // A declared length over the limit is answered before anything else reads the request.
  app.addHook('onRequest', async (request, reply) => {
    const length = Number(request.headers['content-length']);
    if (length > opts.limit) return answerTooLarge(request.raw, reply, opts.limit);
  });
});
