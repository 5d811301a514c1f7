// A check's schedule: `every` 5m / 15m / 1h / 1d, or a cron expression read in a time zone. Both become
// a cron expression parsed by cron-parser, which also gives the next run times the check page shows;
// cronstrue puts a cron expression in words.
import { CronExpressionParser } from 'cron-parser';
import cronstrue from 'cronstrue';
import { AppError } from '../lib/errors.js';

export type Every = '5m' | '15m' | '1h' | '1d';
export type Schedule = { every: Every } | { cron: string; timeZone?: string };

const EVERY: Record<Every, { cron: string; text: string }> = {
  '5m': { cron: '*/5 * * * *', text: 'every 5 minutes' },
  '15m': { cron: '*/15 * * * *', text: 'every 15 minutes' },
  '1h': { cron: '0 * * * *', text: 'every hour, on the hour' },
  '1d': { cron: '0 0 * * *', text: 'every day at 00:00 UTC' },
};

function cronOf(schedule: Schedule): { cron: string; tz: string } {
  return 'every' in schedule
    ? { cron: EVERY[schedule.every].cron, tz: 'UTC' }
    : { cron: schedule.cron, tz: schedule.timeZone ?? 'UTC' };
}

/** Throws a 400 naming the problem when the cron expression or time zone cannot be read. */
export function validateSchedule(schedule: Schedule): void {
  if ('every' in schedule) return;
  if (schedule.cron.trim().split(/\s+/).length !== 5) {
    throw new AppError(400, 'invalid_schedule', 'A cron expression has five fields: minute hour day-of-month month day-of-week.');
  }
  try {
    Intl.DateTimeFormat('en-US', { timeZone: schedule.timeZone ?? 'UTC' });
  } catch {
    throw new AppError(
      400,
      'invalid_schedule',
      `"${schedule.timeZone}" is not a time zone (use an IANA name like Europe/Paris).`,
    );
  }
  try {
    nextRuns(schedule, new Date(), 1);
  } catch (error) {
    throw new AppError(400, 'invalid_schedule', `The cron expression cannot be read: ${(error as Error).message}`);
  }
}

/** The next `count` run times strictly after `after`. */
export function nextRuns(schedule: Schedule, after: Date, count = 5): Date[] {
  const { cron, tz } = cronOf(schedule);
  const interval = CronExpressionParser.parse(cron, { tz, currentDate: after, strict: false });
  return Array.from({ length: count }, () => interval.next().toDate());
}

/** E.g. "every 15 minutes", or "at 09:00, Monday through Friday (Europe/Paris time)". */
export function describeSchedule(schedule: Schedule): string {
  if ('every' in schedule) return EVERY[schedule.every].text;
  const zone = schedule.timeZone ?? 'UTC';
  try {
    const words = cronstrue.toString(schedule.cron, { use24HourTimeFormat: true, throwExceptionOnParseError: true });
    return `${words.charAt(0).toLowerCase()}${words.slice(1)} (${zone} time)`;
  } catch {
    // cron-parser read it (validateSchedule) but cronstrue cannot put it in words: show the expression.
    return `cron "${schedule.cron}" in ${zone}`;
  }
}
