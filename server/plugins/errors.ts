// One error handler for the whole app: stable {error:{code,message}} bodies, 5xx details only in the log.
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, errorBody } from '../lib/errors.js';

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

export const errorsPlugin = fp(async function errors(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) {
      if (error.statusCode >= 500) request.log.error({ err: error }, error.message);
      return reply.status(error.statusCode).send(errorBody(error.code, error.message, error.details));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.status(status).send(errorBody(clientErrorCode(error), error.message));
    }
    request.log.error({ err: error }, 'request failed');
    return reply
      .status(500)
      .send(errorBody('internal_error', `Something went wrong on our side; it was logged as request ${request.id}.`));
  });
});
