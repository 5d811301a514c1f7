// pino settings: JSON lines for machines; pretty, coloured lines when a person watches a terminal.
import type { FastifyServerOptions } from 'fastify';
import { REDACTED_LOG_PATHS } from './app.js';
import type { Config } from './config.js';

export function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  const pretty = process.stdout.isTTY && config.nodeEnv !== 'production';
  return {
    level: config.logLevel,
    redact: REDACTED_LOG_PATHS,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } } : {}),
  };
}
