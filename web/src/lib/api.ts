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

export async function api<T>(path: string, options: ApiOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const response = await fetch(path, {
    method,
    signal: options.signal,
    headers: { accept: 'application/json', ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
    // State-changing requests always carry a JSON body: the server refuses anything else (CSRF defence).
    body: method === 'GET' ? undefined : JSON.stringify(options.body ?? {}),
  });
  if (response.status === 401 && !options.allowUnauthenticated) {
    window.location.assign(loginUrl());
    return new Promise<T>(() => undefined); // navigation is under way
  }
  const text = await response.text();
  const payload: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const error = (payload as { error?: { code?: string; message?: string } } | undefined)?.error;
    const { code = 'http_error', message = `${response.status} ${response.statusText}`, ...details } = error ?? {};
    throw new ApiError(response.status, code, message, details);
  }
  return payload as T;
}
