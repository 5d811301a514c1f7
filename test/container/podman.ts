// Runs podman the way the container test needs it on a shared CI machine: always runc, and explicit
// ulimits (without them runc fails to set RLIMIT_NOFILE/NPROC here: "error setting rlimits").
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const RUNTIME_FLAGS = ['--runtime', 'runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws for a non-zero exit (callers decide what that means). */
export function runCommand(
  command: string,
  args: string[],
  options: { timeoutMs?: number; echo?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.echo) process.stderr.write(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (options.echo) process.stderr.write(chunk);
    });
    const timer = options.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGKILL');
          stderr += `\n(killed after ${options.timeoutMs} ms)`;
        }, options.timeoutMs)
      : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function podman(args: string[], options: Parameters<typeof runCommand>[2] = {}): Promise<CommandResult> {
  return runCommand('podman', args, options);
}

/** Like podman(), but a non-zero exit is an error carrying podman's output. */
export async function podmanOk(args: string[], options: Parameters<typeof runCommand>[2] = {}): Promise<string> {
  const result = await podman(args, options);
  if (result.code !== 0) {
    throw new Error(`podman ${args.join(' ')} exited ${result.code}:\n${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

export function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, binary)));
}

/**
 * Why podman cannot run containers on this machine, or undefined when it can. The last probe runs a
 * real container (a static binary from the host as its whole root filesystem), so namespaces, cgroups,
 * runc and the rlimits are all exercised before any image is built.
 */
export async function podmanBlocker(): Promise<string | undefined> {
  for (const binary of ['podman', 'runc']) {
    if (!onPath(binary)) return `${binary} is not installed (Debian: apt-get install podman buildah runc)`;
  }
  const info = await podman(['info', '--format', '{{.Store.GraphDriverName}}'], { timeoutMs: 60_000 });
  if (info.code !== 0) return `"podman info" fails: ${info.stderr.trim()}`;
  const staticBinary = ['/sbin/ldconfig', '/usr/sbin/ldconfig'].find((file) => existsSync(file));
  if (!staticBinary) return undefined; // nothing to probe with; the image build will tell
  const rootfs = await mkdtemp(path.join(os.tmpdir(), 'porthole-podman-probe-'));
  try {
    await cp(staticBinary, path.join(rootfs, 'probe'));
    const run = await podman(['run', '--rm', ...RUNTIME_FLAGS, '--network=none', '--rootfs', rootfs, '/probe', '--version'], {
      timeoutMs: 60_000,
    });
    if (run.code !== 0) return `podman cannot run a container here: ${run.stderr.trim()}`;
    return undefined;
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}
