// Relative times: a variable's value (in a link, a saved default, a check's params, a CSV link) may be
// `today-29d` instead of a fixed time, so a shared link or a saved query stays rolling. It is resolved to
// an absolute value only when a run starts, in a time zone (the browser's, a check's schedule zone, or
// UTC), and the run's audit event records the resolved value. Dashboards' relative defaults are the same
// grammar (`now`, `today`, `now-30d`, `today-7d`, `now-6h`, `now-2w`).
//
//   value  := anchor [ "-" N unit ]           e.g. now, today, tomorrow, this_month, today-29d, this_month-1mo
//   anchor := now | today | tomorrow | this_month   (the last three are the start of that day or month)
//   unit   := h (hours) | d (days) | w (weeks) | mo (months)
//
// Days, weeks and months move on the calendar of the zone (a day across a DST change is still midnight to
// midnight); hours are exact durations. The range presets use it with an exclusive end: "Last 30 days" is
// start_time=today-29d, end_time=tomorrow, read by SQL as `t >= {start_time} and t < {end_time}`.
//
// Pure and dependency-free: the engine and the web app (the variables form shows what a value resolves to)
// import this one file, so both read the grammar the same way.

export type RelativeKind = 'timestamp' | 'date';

const RELATIVE = /^(now|today|tomorrow|this_month)(?:-([0-9]{1,4})(h|d|w|mo))?$/;

/** Whether a value is a relative time (surrounding spaces ignored). */
export function isRelativeTime(value: string): boolean {
  return RELATIVE.test(value.trim());
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Whether the name is a time zone this runtime knows (an IANA name such as Europe/Paris, or UTC). */
export function isTimeZone(name: string): boolean {
  if (!name || name.length > 64) return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** Wall-clock fields; month is 1-12. */
interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallClock(ms: number, timeZone: string): Wall {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour! % 24, // some engines print midnight as 24 even with h23
    minute: parts.minute!,
    second: parts.second!,
  };
}

const wallAsUtc = (wall: Wall) => Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);

/** The zone's offset from UTC at this instant, in ms (east positive). */
function offsetAt(ms: number, timeZone: string): number {
  return wallAsUtc(wallClock(ms, timeZone)) - Math.floor(ms / 1000) * 1000;
}

/** The instant a wall-clock time names in the zone (twice around, so a DST change between is found). */
function instantOf(wall: Wall, timeZone: string): number {
  const asUtc = wallAsUtc(wall);
  const first = asUtc - offsetAt(asUtc, timeZone);
  return asUtc - offsetAt(first, timeZone);
}

/** Normalises overflowing fields (day 0, month 13) the way Date.UTC does. */
function normalised(wall: Wall): Wall {
  const date = new Date(wallAsUtc(wall));
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
  };
}

function minusMonths(wall: Wall, months: number): Wall {
  const first = normalised({ ...wall, month: wall.month - months, day: 1 });
  const lastDay = new Date(Date.UTC(first.year, first.month, 0)).getUTCDate();
  return { ...first, day: Math.min(wall.day, lastDay), hour: wall.hour, minute: wall.minute, second: wall.second };
}

const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0');

/** ISO 8601 to the second with the zone's offset at that instant ("2026-11-01T00:00:00+01:00", "...Z" at UTC+0). */
export function zonedIso(ms: number, timeZone: string): string {
  const wall = wallClock(ms, timeZone);
  const offset = Math.round(offsetAt(ms, timeZone) / 60_000);
  const zone =
    offset === 0 ? 'Z' : `${offset > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}T${pad(wall.hour)}:${pad(wall.minute)}:${pad(wall.second)}${zone}`;
}

export interface ResolveOptions {
  /** The moment "now" is (default: the current time). */
  now?: Date;
  /** IANA time zone whose calendar "today" and months follow (default UTC). */
  timeZone?: string;
}

/**
 * A relative time as an absolute value: a timestamp with the zone's offset, or for a date the calendar
 * day in the zone. Undefined when the value is not a relative time.
 */
export function resolveRelativeTime(value: string, kind: RelativeKind, options: ResolveOptions = {}): string | undefined {
  const match = RELATIVE.exec(value.trim());
  if (!match) return undefined;
  const timeZone = options.timeZone ?? 'UTC';
  const nowMs = Math.floor((options.now ?? new Date()).getTime() / 1000) * 1000;
  const [, anchor, amountText, unit] = match;
  const amount = amountText ? Number(amountText) : 0;

  let wall = wallClock(nowMs, timeZone);
  if (anchor !== 'now') wall = { ...wall, hour: 0, minute: 0, second: 0 };
  if (anchor === 'tomorrow') wall = normalised({ ...wall, day: wall.day + 1 });
  if (anchor === 'this_month') wall = { ...wall, day: 1 };
  if (unit === 'd') wall = normalised({ ...wall, day: wall.day - amount });
  if (unit === 'w') wall = normalised({ ...wall, day: wall.day - 7 * amount });
  if (unit === 'mo') wall = minusMonths(wall, amount);

  let ms = anchor === 'now' && (!unit || unit === 'h') ? nowMs : instantOf(wall, timeZone);
  if (unit === 'h') ms -= amount * 3_600_000;
  if (kind === 'date') {
    const day = wallClock(ms, timeZone);
    return `${pad(day.year, 4)}-${pad(day.month)}-${pad(day.day)}`;
  }
  return zonedIso(ms, timeZone);
}
