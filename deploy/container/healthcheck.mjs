// The container's health check (Dockerfile HEALTHCHECK and the ECS task definition): exit 0 when the
// server answers GET /healthz within the timeout, 1 otherwise. Slim images have no curl, so it is node.
const port = process.env.PORT || '3000';
const TIMEOUT_MS = 4000;

try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
