// Running Porthole's command-line tools the way an operator does: a separate process with the
// production-style environment pointed at a test tools database.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TEST_SESSION_SECRET } from './app.js';

const run = promisify(execFile);

/** The environment an operator would run `npm run audit:*` with, for the given tools DB URLs. */
export function operatorEnv(toolsUrl: string, migrationUrl?: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TOOLS_DATABASE_URL: toolsUrl,
    ...(migrationUrl ? { TOOLS_MIGRATION_URL: migrationUrl } : {}),
    MAIN_DATABASE_URL: toolsUrl,
    SESSION_SECRET: TEST_SESSION_SECRET,
    OIDC_ISSUER_URL: 'https://login.example.com',
    OIDC_CLIENT_ID: 'porthole',
    OIDC_CLIENT_SECRET: 'unused',
  };
}

/** Runs `server/cli/<script>.ts`; resolves with the exit code and output instead of throwing. */
export async function runOperatorCli(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', `server/cli/${script}.ts`, ...args], { env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}
