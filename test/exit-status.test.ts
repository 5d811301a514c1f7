// npm test's exit status is the verdict: a failing test must make vitest exit non-zero even when the
// embedded PostgreSQL module is loaded (its dependency once turned every exit into 0), and a passing
// one exit 0. Also: every process here runs on the Node the project pins (issue: Node 24 everywhere).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const VITEST = path.resolve('node_modules/vitest/vitest.mjs');
const CONFIG = path.resolve('test/fixtures/exit-status/vitest.config.ts');

async function exitCodeOf(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; output: string }> {
  return run(process.execPath, args, { env }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
  );
}

const vitestExitCode = (outcome: 'passing' | 'failing', ...extra: string[]) =>
  exitCodeOf([VITEST, 'run', '--config', CONFIG, ...extra], { ...process.env, FIXTURE_OUTCOME: outcome });

describe('the test runner exit status', () => {
  it('is non-zero when a test fails', async () => {
    const { code, output } = await vitestExitCode('failing');
    expect(output).toMatch(/1 failed/);
    expect(code).not.toBe(0);
  }, 60_000);

  it('is zero when every test passes', async () => {
    const { code, output } = await vitestExitCode('passing');
    expect(output).toMatch(/1 passed/);
    expect(code).toBe(0);
  }, 60_000);
});

describe("CI's summary (scripts/ci-summary.mjs)", () => {
  async function summaryOf(outcome: 'passing' | 'failing' | 'no tests', failedSteps = '0') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'porthole-ci-summary-'));
    try {
      const filter = outcome === 'no tests' ? ['no-such-file'] : [];
      await vitestExitCode(
        outcome === 'failing' ? 'failing' : 'passing',
        '--reporter=json',
        `--outputFile.json=${dir}/r.json`,
        ...filter,
      );
      return await exitCodeOf(['scripts/ci-summary.mjs', dir, failedSteps]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('fails on a failed test, whatever the runner exited with', async () => {
    const { code, output } = await summaryOf('failing');
    expect(output).toMatch(/^0 passed, 1 failed$/m);
    expect(output).toMatch(/^ {2}failed: test\/fixtures\/exit-status\/.+ > .+$/m); // names what failed
    expect(code).toBe(1);
  }, 60_000);

  it('fails on a run that executed no test, and on a failed step', async () => {
    expect((await summaryOf('no tests')).code).toBe(1);
    const step = await summaryOf('passing', '1');
    expect(step.output).toMatch(/^1 passed, 1 failed$/m);
    expect(step.code).toBe(1);
  }, 60_000);

  it('passes when every test passed', async () => {
    const { code, output } = await summaryOf('passing');
    expect(output).toMatch(/^1 passed, 0 failed$/m);
    expect(code).toBe(0);
  }, 60_000);
});

describe('the Node the tests run on', () => {
  it('is the project-pinned Node 24 in a vitest worker', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });
});
