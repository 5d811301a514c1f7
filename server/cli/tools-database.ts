// For command-line tools: the tools DB URLs from the config, starting the demo cluster when in demo mode.
import { loadConfig } from '../config.js';
import type { MigrationTarget } from '../db/migrate.js';

export async function withToolsDatabase<T>(
  fn: (target: Required<Pick<MigrationTarget, 'toolsDatabaseUrl'>> & MigrationTarget) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  if (!config.demo) return fn({ toolsDatabaseUrl: config.toolsDatabaseUrl!, toolsMigrationUrl: config.toolsMigrationUrl });
  const { startDemoEnvironment } = await import('../demo/environment.js');
  const demo = await startDemoEnvironment(config, (message) => process.stderr.write(`porthole: ${message}\n`), {
    identityProvider: false,
  });
  try {
    return await fn({ toolsDatabaseUrl: demo.toolsDatabaseUrl, toolsMigrationUrl: demo.toolsMigrationUrl });
  } finally {
    await demo.stop();
  }
}

export async function runCli(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
