// Emulation is needed only for platforms the builder cannot run natively or through an
// already-registered binfmt handler; native arm64 runners skip this entirely.
import { existsSync, readFileSync } from 'node:fs';
import { execFile } from '../io/exec.ts';

const QEMU_NAMES: Record<string, string> = {
  arm64: 'aarch64',
  arm: 'arm',
  amd64: 'x86_64',
  '386': 'i386',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

export function nodeArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
}

export function binfmtRegistered(arch: string, root = '/proc/sys/fs/binfmt_misc'): boolean {
  const name = QEMU_NAMES[arch];
  if (!name) return false;
  const f = `${root}/qemu-${name}`;
  return existsSync(f) && readFileSync(f, 'utf8').startsWith('enabled');
}

export interface PlatformRun {
  platform: string;
  how: 'native' | 'emulated' | 'missing';
}

export function platformRuns(
  platforms: string[],
  hostArch: string,
  registered: (arch: string) => boolean,
): PlatformRun[] {
  return platforms.map((p) => {
    const arch = p.split('/')[1] ?? '';
    if (arch === hostArch || (hostArch === 'amd64' && arch === '386'))
      return { platform: p, how: 'native' };
    return { platform: p, how: registered(arch) ? 'emulated' : 'missing' };
  });
}

/** Registers QEMU handlers by running the installer image; bounded, with the fix in the error. */
// Pull failures worth another try (Docker Hub rate limits, registry hiccups), not bad references.
const TRANSIENT_PULL =
  /(toomanyrequests|\b429\b|\b50[0234]\b|connection reset|i\/o timeout|TLS handshake timeout)/i;

export async function installBinfmt(
  image: string,
  arches: string[],
  opts: { timeoutMs?: number; attempts?: number; backoffMs?: number } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const attempts = opts.attempts ?? 3;
  let r;
  for (let attempt = 1; ; attempt++) {
    r = await execFile(
      'docker',
      ['run', '--privileged', '--rm', '--pull', 'missing', image, '--install', arches.join(',')],
      { allowFailure: true, timeoutMs },
    );
    if (r.exitCode === 0 && !r.timedOut) return;
    if (r.timedOut || attempt >= attempts || !TRANSIENT_PULL.test(r.stderr)) break;
    await new Promise((res) => setTimeout(res, (opts.backoffMs ?? 2000) * attempt));
  }
  const why = r.timedOut
    ? `no result within ${Math.round(timeoutMs / 1000)} s`
    : (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ').slice(0, 400);
  throw new Error(
    `QEMU for ${arches.join(', ')} could not be registered with ${image} (${why}): set binfmt-image to an installer image the runner can pull, register QEMU before this step (docker/setup-qemu-action), or build only native platforms`,
  );
}
