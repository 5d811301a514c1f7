// The one way the web app talks to the server: JSON in and out, errors as ApiError with the server's
// stable code, and a 401 sends the user through sign-in and back to the page they were on.

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
    throw apiError(response.status, response.statusText, text ? (JSON.parse(text) as unknown) : undefined);
  }
  return response;
}

export async function api<T>(path: string, options: ApiOptions = {}): Promise<T> {
  const text = await (await apiResponse(path, options)).text();
  return (text ? JSON.parse(text) : undefined) as T;
}
