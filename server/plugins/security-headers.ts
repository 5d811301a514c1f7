// Security headers with a strict Content-Security-Policy: scripts and styles only from our origin, no
// eval, no inline script, nothing may frame us (THREATS.md 39-40).
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'worker-src': ["'self'", 'blob:'],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'frame-ancestors': ["'none'"],
  'form-action': ["'self'"],
};

export const securityHeadersPlugin = fp(async function securityHeaders(app: FastifyInstance, opts: { https: boolean }) {
  await app.register(helmet, {
    // A fresh nonce per response in script-src and style-src. The SPA hands the style nonce to libraries
    // that insert <style> elements (CodeMirror), so style-src needs no 'unsafe-inline'.
    enableCSPNonces: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: opts.https ? { ...CONTENT_SECURITY_POLICY, 'upgrade-insecure-requests': [] } : CONTENT_SECURITY_POLICY,
    },
    // HSTS only means something over https; on the plain-http demo it would be ignored or, worse, remembered.
    strictTransportSecurity: opts.https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
});
