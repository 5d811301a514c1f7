// One error handler for the whole app: stable {error:{code,message}} bodies, 5xx details only in the log.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
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

export const errorsPlugin = fp(async function errors(app: FastifyInstance) {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (clientWentAway(request, reply, error)) {
      request.log.info({ reason: error.message, code: error.code }, 'client went away before the response was complete');
      return reply.status(499).send(errorBody('client_closed_request', 'The client closed the connection.'));
    }
    if (error instanceof AppError) {
      if (error.statusCode >= 500) request.log.error({ err: error }, error.message);
      return reply.status(error.statusCode).send(errorBody(error.code, error.message, error.details));
    }
    const status = error.statusCode ?? 500;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // A body without a length (chunked) found too large while reading: the rest is drained first too.
      return answerTooLarge(request.raw, reply, request.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? 0);
    }
    if (status >= 400 && status < 500) {
      return reply.status(status).send(errorBody(clientErrorCode(error), error.message));
    }
    request.log.error({ err: error }, 'request failed');
    return reply
      .status(500)
      .send(errorBody('internal_error', `Something went wrong on our side; it was logged as request ${request.id}.`));
  });
});
