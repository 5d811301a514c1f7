// One check's page state: the check, its history, Run now and Mute.
import { checkRuns, getCheck, hoursFromNow, runCheck, updateCheck, type CheckRunView, type CheckView } from './api';

export class CheckPageState {
  check = $state.raw<CheckView | undefined>(undefined);
  runs = $state.raw<CheckRunView[]>([]);
  error = $state('');
  busy = $state(false);

  constructor(readonly id: string) {}

  async load(): Promise<void> {
    try {
      const [check, history] = await Promise.all([getCheck(this.id), checkRuns(this.id)]);
      this.check = check;
      this.runs = history.runs;
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  async runNow(): Promise<void> {
    this.busy = true;
    try {
      await runCheck(this.id);
      await this.load();
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.busy = false;
    }
  }

  async muteFor(hours: number | null): Promise<void> {
    this.check = await updateCheck(this.id, { mutedUntil: hours === null ? null : hoursFromNow(hours) });
  }
}
