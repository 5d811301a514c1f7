// Time zones and run times as the check pages show them.

/** The browser's own zone is the natural default for a cron schedule; the server defaults to UTC. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export function timeZones(): string[] {
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  return supported.includes('UTC') ? supported : ['UTC', ...supported];
}

/** A run time as the schedule reads it: in its own time zone for cron, in the browser's for `every`. */
export function formatRun(iso: string, timeZone?: string): string {
  // Explicit fields: Intl refuses dateStyle/timeStyle together with timeZoneName.
  const fields: Intl.DateTimeFormatOptions = {
    weekday: 'short',
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  };
  try {
    return new Date(iso).toLocaleString(undefined, { ...fields, ...(timeZone ? { timeZone, timeZoneName: 'short' } : {}) });
  } catch {
    // A zone this browser does not know: the browser's own time, rather than nothing.
    return new Date(iso).toLocaleString(undefined, { ...fields, timeZoneName: 'short' });
  }
}
