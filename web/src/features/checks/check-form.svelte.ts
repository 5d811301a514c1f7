// The check form's state, shared by "Add a check" and "Edit": every field the API takes, prefilled from
// a check when editing; the query's variables (for parameter values) and pinnable versions; the alert
// destinations to pick from; and a live preview of the schedule (in words, next five runs) that the
// server computes and validates exactly as it will on save.
import { queriesApi, type QueryView } from '../queries/api';
import { findVariables } from '../../lib/variables/variables';
import { browserTimeZone } from './time';
import { listDestinations, previewSchedule, type CheckView, type DestinationView, type SchedulePreview } from './api';

export type Every = '5m' | '15m' | '1h' | '1d';
export type ConditionKind = 'rows' | 'no_rows' | 'threshold' | 'anomaly';
export type Comparison = '>' | '>=' | '<' | '<=' | '=' | '!=';
export const COMPARISONS: readonly Comparison[] = ['>', '>=', '<', '<=', '=', '!='];
export const EVERY_CHOICES: ReadonlyArray<{ value: Every; label: string }> = [
  { value: '5m', label: '5 minutes' },
  { value: '15m', label: '15 minutes' },
  { value: '1h', label: 'hour' },
  { value: '1d', label: 'day' },
];

const splitEmails = (text: string) =>
  text
    .split(/[,;\s]+/)
    .map((email) => email.trim())
    .filter(Boolean);

export class CheckFormState {
  name = $state('');
  scheduleKind = $state<'every' | 'cron'>('every');
  every = $state<Every>('1h');
  cron = $state('0 9 * * 1-5');
  timeZone = $state(browserTimeZone());
  conditionKind = $state<ConditionKind>('rows');
  column = $state('');
  timeColumn = $state('');
  op = $state<Comparison>('>');
  value = $state<number>(0);
  k = $state<number>(3);
  weekly = $state(false);
  emails = $state('');
  destinationIds = $state<string[]>([]);
  params = $state<Record<string, string>>({});
  /** null: run whatever version is current; a number: that version. */
  pinnedVersion = $state<number | null>(null);
  remindEveryHours = $state<number | null>(null);
  timeoutSeconds = $state(60);
  enabled = $state(true);

  query = $state.raw<QueryView>();
  /** Variable names of the SQL the check will run (the pinned version's when pinned). */
  variableNames = $state.raw<string[]>([]);
  destinations = $state.raw<DestinationView[]>([]);
  preview = $state.raw<SchedulePreview>();
  /** The time zone the preview was computed for (the field may have changed since). */
  previewTimeZone = $state<string | undefined>();
  previewError = $state('');
  loadError = $state('');
  saveError = $state('');
  saving = $state(false);

  constructor(readonly queryId: string) {}

  /** Prefills every field from a saved check (the edit form). */
  fill(check: CheckView): void {
    this.name = check.name;
    if ('every' in check.schedule) {
      this.scheduleKind = 'every';
      this.every = check.schedule.every;
    } else {
      this.scheduleKind = 'cron';
      this.cron = check.schedule.cron;
      this.timeZone = check.schedule.timeZone ?? 'UTC';
    }
    const condition = check.condition;
    this.conditionKind = condition.kind;
    if (condition.kind === 'threshold') {
      this.column = condition.column;
      this.op = condition.op;
      this.value = condition.value;
    } else if (condition.kind === 'anomaly') {
      this.column = condition.column;
      this.timeColumn = condition.timeColumn ?? '';
      this.k = condition.k ?? 3;
      this.weekly = condition.seasonality === 'weekly';
    }
    this.emails = check.emails.join(', ');
    this.destinationIds = [...check.destinationIds];
    this.params = Object.fromEntries(
      Object.entries(check.params).map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]),
    );
    this.pinnedVersion = check.queryVersion;
    this.remindEveryHours = check.remindEveryHours;
    this.timeoutSeconds = Math.round(check.timeoutMs / 1000);
    this.enabled = check.enabled;
  }

  /** The query (for its variables and versions) and the destinations to pick from. */
  async load(): Promise<void> {
    try {
      const [query, destinations] = await Promise.all([queriesApi.get(this.queryId), listDestinations()]);
      this.query = query;
      this.destinations = destinations.destinations;
      // A destination deleted since is not offered, so it is not sent back either.
      this.destinationIds = this.destinationIds.filter((id) => destinations.destinations.some((d) => d.id === id));
      await this.loadVariables();
    } catch (error) {
      this.loadError = (error as Error).message;
    }
  }

  async loadVariables(): Promise<void> {
    const query = this.query;
    if (!query) return;
    const pinned = this.pinnedVersion;
    const sql =
      pinned === null || pinned === query.currentVersion ? query.version.sql : (await queriesApi.version(query.id, pinned)).sql;
    this.variableNames = findVariables(sql);
  }

  setPinned(version: number | null): void {
    this.pinnedVersion = version;
    void this.loadVariables();
  }

  setParam(name: string, value: string): void {
    this.params = { ...this.params, [name]: value };
  }

  toggleDestination(id: string, on: boolean): void {
    this.destinationIds = on ? [...this.destinationIds, id] : this.destinationIds.filter((d) => d !== id);
  }

  schedule(): { every: Every } | { cron: string; timeZone: string } {
    return this.scheduleKind === 'every' ? { every: this.every } : { cron: this.cron.trim(), timeZone: this.timeZone.trim() };
  }

  /** Asks the server for the schedule in words and its next runs; the last answer wins. */
  private previewRequest = 0;
  async refreshPreview(): Promise<void> {
    const request = ++this.previewRequest;
    const schedule = this.schedule();
    try {
      const preview = await previewSchedule(schedule);
      if (request !== this.previewRequest) return;
      this.preview = preview;
      this.previewTimeZone = 'cron' in schedule ? schedule.timeZone || 'UTC' : undefined;
      this.previewError = '';
    } catch (error) {
      if (request !== this.previewRequest) return;
      this.preview = undefined;
      this.previewError = (error as Error).message;
    }
  }

  condition(): Record<string, unknown> {
    switch (this.conditionKind) {
      case 'threshold':
        return { kind: 'threshold', column: this.column.trim(), op: this.op, value: Number(this.value) };
      case 'anomaly':
        return {
          kind: 'anomaly',
          column: this.column.trim(),
          ...(this.timeColumn.trim() ? { timeColumn: this.timeColumn.trim() } : {}),
          k: Number(this.k),
          seasonality: this.weekly ? 'weekly' : 'none',
        };
      default:
        return { kind: this.conditionKind };
    }
  }

  /** The body of POST /api/checks (with queryId) or PUT /api/checks/:id (every field, so it is a replace). */
  body(): Record<string, unknown> {
    return {
      name: this.name.trim(),
      schedule: this.schedule(),
      condition: this.condition(),
      params: Object.fromEntries(this.variableNames.map((name) => [name, this.params[name] ?? ''])),
      queryVersion: this.pinnedVersion,
      emails: splitEmails(this.emails),
      destinationIds: this.destinationIds,
      remindEveryHours: this.remindEveryHours || null,
      timeoutMs: Math.round(Number(this.timeoutSeconds) * 1000),
      enabled: this.enabled,
    };
  }

  /** Runs the save, keeping the error to show; resolves with the saved check or undefined. */
  async save(send: (body: Record<string, unknown>) => Promise<CheckView>): Promise<CheckView | undefined> {
    this.saving = true;
    this.saveError = '';
    try {
      return await send(this.body());
    } catch (error) {
      this.saveError = (error as Error).message;
      return undefined;
    } finally {
      this.saving = false;
    }
  }
}
