// Errors the API answers with: a stable machine-readable code, a message for people, an HTTP status.
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_many_requests'
  | 'not_ready'
  /** Porthole's own database cannot be reached or is shutting down (503, Retry-After). */
  | 'tools_database_unavailable'
  /** A data source cannot be reached or is shutting down (503, Retry-After; `dataSource` names it). */
  | 'data_source_unavailable'
  | 'server_stopping'
  | 'request_timeout'
  | 'headers_too_large'
  | 'internal_error';

export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode | (string & {}),
    message: string,
    /** Extra fields sent beside code and message, e.g. the position of a SQL error. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
}

export function errorBody(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: { ...details, code, message } };
}
