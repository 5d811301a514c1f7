// pino settings: JSON lines for machines; pretty lines in the demo and when a person watches a terminal.
import type { FastifyServerOptions } from 'fastify';
import { REDACTED_LOG_PATHS } from './app.js';
import type { Config } from './config.js';

export function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  // The demo is for a person at a terminal, even when npm's output goes through a pipe (tee, an IDE's run
  // panel): readable lines, not a JSON object per request.
  const pretty = config.nodeEnv !== 'production' && (config.demo || process.stdout.isTTY);
  return {
    level: config.logLevel,
    redact: REDACTED_LOG_PATHS,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } } : {}),
  };
}
