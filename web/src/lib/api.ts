// The one way the web app talks to the server: JSON in and out, errors as ApiError with the server's
// stable code, and a 401 sends the user through sign-in and back to the page they were on. A read (GET)
// answered 503 because a database is unavailable (a restart) is tried once more after Retry-After, while
// the shell says "The database is unavailable, retrying…"; anything else (a run above all) never is.
import { databaseStatus } from './database-status.svelte';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function loginUrl(returnTo = window.location.pathname + window.location.search + window.location.hash): string {
  return `/auth/login?returnTo=${encodeURIComponent(returnTo)}`;
}

interface ApiOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
  /** Answer a 401 with ApiError instead of redirecting (used when checking whether anyone is signed in). */
  allowUnauthenticated?: boolean;
}

/** The codes of a database that is unavailable for a moment (the server answers them 503 with Retry-After). */
const UNAVAILABLE = new Set(['tools_database_unavailable', 'data_source_unavailable']);
/** The wait before the one retry of a read, in seconds: the server's Retry-After, kept within these. */
const RETRY_AFTER_MIN_S = 1;
const RETRY_AFTER_MAX_S = 10;

function retryDelayMs(response: Response): number {
  const asked = Number(response.headers.get('retry-after'));
  const seconds = Number.isFinite(asked) && asked > 0 ? asked : RETRY_AFTER_MIN_S;
  return Math.min(Math.max(seconds, RETRY_AFTER_MIN_S), RETRY_AFTER_MAX_S) * 1000;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

/** The server's {error:{code,message,...}} body as an ApiError. */
export function apiError(status: number, statusText: string, payload: unknown): ApiError {
  const error = (payload as { error?: { code?: string; message?: string } } | undefined)?.error;
  const { code = 'http_error', message = `${status} ${statusText}`, ...details } = error ?? {};
  return new ApiError(status, code, message, details);
}

/**
 * Sends a request the way every API call does (JSON body, 401 -> sign-in) and returns the response once it
 * is known to be a success, for callers that read the body themselves (a streamed run).
 */
export async function apiResponse(path: string, options: ApiOptions & { accept?: string } = {}): Promise<Response> {
  return send(path, options, true);
}

async function send(path: string, options: ApiOptions & { accept?: string }, mayRetry: boolean): Promise<Response> {
  const method = options.method ?? 'GET';
  const response = await fetch(path, {
    method,
    signal: options.signal,
    headers: {
      accept: options.accept ?? 'application/json',
      ...(method === 'GET' ? {} : { 'content-type': 'application/json' }),
    },
    // State-changing requests always carry a JSON body: the server refuses anything else (CSRF defence).
    body: method === 'GET' ? undefined : JSON.stringify(options.body ?? {}),
  });
  if (response.status === 401 && !options.allowUnauthenticated) {
    window.location.assign(loginUrl());
    return new Promise<Response>(() => undefined); // navigation is under way
  }
  if (!response.ok) {
    const text = await response.text();
    const error = apiError(response.status, response.statusText, text ? (JSON.parse(text) as unknown) : undefined);
    if (mayRetry && method === 'GET' && response.status === 503 && UNAVAILABLE.has(error.code)) {
      await databaseStatus.during(() => sleep(retryDelayMs(response), options.signal));
      return send(path, options, false);
    }
    throw error;
  }
  return response;
}

export async function api<T>(path: string, options: ApiOptions = {}): Promise<T> {
  const text = await (await apiResponse(path, options)).text();
  return (text ? JSON.parse(text) : undefined) as T;
}
