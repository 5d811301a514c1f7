// Types for database-secret.mjs (plain JavaScript, so the image runs it without a build step).
export function parseDatabaseSecret(document: string, defaults?: Record<string, unknown>): Record<string, unknown>;
export function databaseUrlFromSecret(document: string, sslMode?: string, caFile?: string): string;
