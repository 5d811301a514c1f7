// One check's page state: the check, its history, the destinations' names, Run now, Mute and Delete.
import {
  checkRuns,
  deleteCheck,
  getCheck,
  hoursFromNow,
  listDestinations,
  runCheck,
  updateCheck,
  type CheckRunView,
  type CheckView,
  type DestinationView,
} from './api';

export class CheckPageState {
  check = $state.raw<CheckView | undefined>(undefined);
  runs = $state.raw<CheckRunView[]>([]);
  destinations = $state.raw<DestinationView[]>([]);
  error = $state('');
  busy = $state(false);
  deleting = $state(false);

  constructor(readonly id: string) {}

  async load(): Promise<void> {
    try {
      const [check, history, destinations] = await Promise.all([getCheck(this.id), checkRuns(this.id), listDestinations()]);
      this.check = check;
      this.runs = history.runs;
      this.destinations = destinations.destinations;
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  /** The check's Slack and webhook recipients by name (a destination deleted since is gone from the check). */
  recipientDestinations(): DestinationView[] {
    const ids = this.check?.destinationIds ?? [];
    return this.destinations.filter((destination) => ids.includes(destination.id));
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

  /** Resolves true once deleted; an error stays on the page. */
  async remove(): Promise<boolean> {
    this.deleting = true;
    try {
      await deleteCheck(this.id);
      return true;
    } catch (error) {
      this.error = (error as Error).message;
      return false;
    } finally {
      this.deleting = false;
    }
  }
}
