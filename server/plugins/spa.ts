// Serves the built web app: hashed assets cached for a year, index.html for every other page path so the
// client-side router can take over (history fallback). API and auth paths never fall back to HTML.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { errorBody } from '../lib/errors.js';

const NOT_BUILT_PAGE = `<!doctype html><meta charset="utf-8"><title>Porthole</title>
<p>The web app is not built. Run <code>npm run build</code> (or <code>npm start</code>, which builds it).</p>`;

/** Paths owned by the server: an unknown one is a JSON 404, never the SPA. */
const SERVER_PREFIXES = ['/api/', '/auth/'];
const isServerPath = (url: string) => SERVER_PREFIXES.some((prefix) => url.startsWith(prefix) || url === prefix.slice(0, -1));

export const spaPlugin = fp(async function spa(app: FastifyInstance, opts: { root: string }) {
  const built = existsSync(path.join(opts.root, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root: opts.root,
      wildcard: false,
      index: false,
      setHeaders(reply, filePath) {
        const immutable = filePath.includes(`${path.sep}assets${path.sep}`);
        reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  }

  const indexHtml = built ? readFileSync(path.join(opts.root, 'index.html'), 'utf8') : NOT_BUILT_PAGE;
  // The page learns this response's style nonce from a meta tag (hex, so nothing to escape).
  const sendIndex = (reply: FastifyReply) =>
    reply
      .header('cache-control', 'no-cache')
      .type('text/html')
      .send(indexHtml.replace('</head>', `<meta name="csp-style-nonce" content="${reply.cspNonce.style}"></head>`));

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const url = request.url.split('?')[0] ?? '/';
    const wantsPage = (request.method === 'GET' || request.method === 'HEAD') && !isServerPath(url) && !path.extname(url);
    if (wantsPage) return sendIndex(reply);
    return reply.status(404).send(errorBody('not_found', `No route for ${request.method} ${url}`));
  });
});
