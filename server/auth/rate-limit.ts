// Per-address rate limit on /auth/* (THREATS.md 52): sign-in, callback and sign-out are reachable without
// a session, and each can write (a pending login, an audit row), so one address may only make so many
// requests a minute. The address is request.ip: the peer, or X-Forwarded-For when TRUST_PROXY trusts
// the peer (behind the ALB); IPv6 addresses count per /56, so one host cannot rotate through its prefix.
// Counters live in each task's memory: N tasks allow up to N times the limit, still bounded.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../lib/errors.js';

const isAuthRoute = (request: FastifyRequest) => request.routeOptions.url?.startsWith('/auth/') === true;

export const authRateLimitPlugin = fp(async function authRateLimit(app: FastifyInstance, opts: { perMinute: number }) {
  await app.register(rateLimit, {
    global: true,
    max: opts.perMinute,
    timeWindow: 60_000,
    // Every route gets the hook; only /auth/* routes count, all of them against one counter per address.
    allowList: (request) => !isAuthRoute(request),
    errorResponseBuilder: (_request, context) =>
      new AppError(429, 'too_many_requests', `Too many sign-in requests from your address; try again in ${context.after}.`),
  });
});
