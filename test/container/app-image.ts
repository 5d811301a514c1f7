// Builds the Dockerfile with podman on the given base, as CI and an operator would.
import path from 'node:path';
import { podman, podmanOk, RUNTIME_FLAGS } from './podman.js';

export const APP_IMAGE = 'localhost/porthole:container-test';

export async function buildAppImage(root: string, baseImage: string, echo: boolean): Promise<{ sizeBytes: number }> {
  const previous = (await podman(['image', 'inspect', '--format', '{{.Id}}', APP_IMAGE])).stdout.trim();
  const build = await podman(
    [
      'build',
      ...RUNTIME_FLAGS,
      '--network=host',
      '--format=docker', // the OCI format has no HEALTHCHECK
      '--build-arg',
      `BASE_IMAGE=${baseImage}`,
      '--tag',
      APP_IMAGE,
      '--file',
      path.join(root, 'Dockerfile'),
      root,
    ],
    { timeoutMs: 30 * 60_000, echo },
  );
  if (build.code !== 0) throw new Error(`podman build failed (${build.code}):\n${(build.stdout + build.stderr).slice(-8000)}`);
  const current = (await podmanOk(['image', 'inspect', '--format', '{{.Id}}', APP_IMAGE])).trim();
  if (previous && previous !== current) await podman(['rmi', previous]); // the build this one replaces, no other image
  return { sizeBytes: Number((await podmanOk(['image', 'inspect', '--format', '{{.Size}}', APP_IMAGE])).trim()) };
}
