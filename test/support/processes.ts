// Helpers for tests that run Porthole as a separate process, the way a user or operator would.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { portIsFree } from '../../server/lib/ports.js';
import { SERVER_NODE_FLAGS } from '../../server/lib/node-flags.js';

export interface RunningProcess {
  child: ChildProcess;
  output: () => string;
  /** Sends a signal to the whole process group, as a terminal's Ctrl-C does. */
  signalGroup(signal: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

/** `node --import tsx` that works from any working directory (tsx is resolved from this project). */
export const TSX_LOADER = pathToFileURL(path.resolve('node_modules/tsx/dist/loader.mjs')).href;

/** Node's arguments to start the server as `npm start` does (its V8 flags, then tsx), from any directory. */
export const serverMainArgs = (): string[] => [...SERVER_NODE_FLAGS, '--import', TSX_LOADER, path.resolve('server/main.ts')];

export function startProcess(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): RunningProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    signalGroup: (signal) => {
      try {
        process.kill(-child.pid!, signal);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // already gone
      }
    },
    exited,
  };
}

export async function waitForHttp(url: string, timeoutMs: number, proc?: RunningProcess): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (proc && proc.child.exitCode !== null) throw new Error(`process exited early:\n${proc.output()}`);
    const ok = await fetch(url).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms${proc ? `:\n${proc.output()}` : ''}`);
}

/** PIDs of PostgreSQL servers whose command line mentions the folder. */
export function postgresProcessesUsing(folder: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes('postgres') && line.includes(folder))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A free port whose successor is free too: demo mode puts its identity provider on PORT + 1. */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port < 65535 && (await portIsFree(port + 1))) return port;
  }
  throw new Error('no two adjacent free ports on 127.0.0.1');
}
