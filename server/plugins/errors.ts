// One error handler for the whole app: stable {error:{code,message}} bodies, 5xx details only in the log.
// Whatever raised the error (a route, a hook, the driver, a plugin, the HTTP parser, a server that is
// closing) the answer has this shape; a database that cannot be reached answers 503 with Retry-After.
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isUnavailable, pgCodeOf, toolsDatabaseUnavailable, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../db/unavailable.js';
import { AppError, errorBody } from '../lib/errors.js';
import { answerTooLarge } from './body-limit.js';

/** Fastify's own client errors, by its error code, mapped to ours. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_VALIDATION: 'invalid_request',
};

function clientErrorCode(error: FastifyError): string {
  if (error.validation) return 'invalid_request';
  if (error.code && FASTIFY_CODES[error.code]) return FASTIFY_CODES[error.code]!;
  if (error instanceof SyntaxError) return 'invalid_json';
  return 'invalid_request';
}

/**
 * The client closed the connection before the answer was complete (Cancel, a closed tab, an aborted
 * fetch): an everyday event whatever error it caused on our side (a cancelled run, "Premature close" on
 * a stream), and nobody is left to read an answer.
 */
function clientWentAway(request: FastifyRequest, reply: FastifyReply, error: FastifyError): boolean {
  // Not request.raw.destroyed: a request whose body was read to its end is destroyed too.
  const socketGone = reply.raw.destroyed || request.raw.socket?.destroyed === true;
  return socketGone && (error.code === 'ERR_STREAM_PREMATURE_CLOSE' || !reply.raw.writableEnded);
}

/**
 * Whether the reply answers an error. Hooks that write to the tools DB on the way out (the session's
 * rolling save, token.used) must not fail such an answer a second time: Fastify would then answer with
 * its own default body instead of ours. Their failure is logged; the error answer goes out.
 */
export function answersError(reply: FastifyReply): boolean {
  return reply.statusCode >= 400;
}

/** The answer to an error that is not an AppError: a database that went away, or our own fault. */
function unexpectedError(error: FastifyError): AppError | undefined {
  // Data-source code answers its own unavailability (data_source_unavailable, with the source's id); a
  // connection error that reaches this far raw came from the tools DB (pg-boss keeps its jobs there too).
  if (isUnavailable(error)) return toolsDatabaseUnavailable(error);
  return undefined;
}

/** HTTP the server could not parse (a malformed request line, headers too large, too slow), before any route. */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, body] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', errorBody('request_timeout', 'The request took too long to arrive.')]
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', errorBody('headers_too_large', 'The request headers are too large.')]
        : [400, 'Bad Request', errorBody('invalid_request', 'The request is not valid HTTP.')];
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}

export const errorsPlugin = fp(async function errors(app: FastifyInstance) {
  // While the server closes (a deploy, a scale-in), requests that still arrive on open connections are
  // turned away in our shape; the load balancer sends them to another task.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw new AppError(503, 'server_stopping', 'Porthole is restarting; try again in a moment.', {
      retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
    });
  });

  app.setErrorHandler(async (raw: FastifyError, request, reply) => {
    if (clientWentAway(request, reply, raw)) {
      request.log.info({ reason: raw.message, code: raw.code }, 'client went away before the response was complete');
      return reply.status(499).send(errorBody('client_closed_request', 'The client closed the connection.'));
    }
    const error = raw instanceof AppError ? raw : unexpectedError(raw);
    if (error) {
      if (error.statusCode === 503) {
        // Expected while a database restarts: worth a warning with its cause, not an error per request.
        request.log.warn({ err: error, cause: error.cause }, error.message);
        const seconds = error.details?.retryAfterSeconds;
        if (!reply.hasHeader('retry-after')) {
          reply.header('retry-after', String(typeof seconds === 'number' ? seconds : UNAVAILABLE_RETRY_AFTER_SECONDS));
        }
      } else if (error.statusCode >= 500) {
        request.log.error({ err: error }, error.message);
      }
      return reply.status(error.statusCode).send(errorBody(error.code, error.message, error.details));
    }
    const status = raw.statusCode ?? 500;
    if (raw.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // A body without a length (chunked) found too large while reading: the rest is drained first too.
      return answerTooLarge(request.raw, reply, request.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? 0);
    }
    if (status >= 400 && status < 500) {
      return reply.status(status).send(errorBody(clientErrorCode(raw), raw.message));
    }
    request.log.error({ err: raw }, 'request failed');
    // A database error's SQLSTATE travels beside the code (never as it): it names a class of failure, not data.
    const pgCode = pgCodeOf(raw);
    return reply
      .status(500)
      .send(
        errorBody(
          'internal_error',
          `Something went wrong on our side; it was logged as request ${request.id}.`,
          pgCode ? { pgCode } : undefined,
        ),
      );
  });
});
