// Which builder runs the build, what it can build, and a docker-container builder of our own when
// the current one cannot build several platforms (the docker driver without containerd's store).
import { execFile } from '../io/exec.ts';

export interface BuilderInfo {
  name: string;
  driver: string;
  platforms: string[];
  /** The platform the builder's node runs on natively (first in its list). */
  nativePlatform: string;
}

/** Parses `docker buildx inspect` text output. */
export function parseBuilderInspect(text: string): BuilderInfo {
  const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const platforms = field('Platforms')
    .split(',')
    .map((p) => p.trim().replace(/\*$/, ''))
    .filter(Boolean);
  return {
    name: field('Name'),
    driver: field('Driver'),
    platforms,
    nativePlatform: platforms[0] ?? 'linux/amd64',
  };
}

export async function buildxAvailable(): Promise<boolean> {
  const r = await execFile('docker', ['buildx', 'version'], { allowFailure: true }).catch(
    () => undefined,
  );
  return r?.exitCode === 0;
}

export async function inspectBuilder(name?: string): Promise<BuilderInfo> {
  const r = await execFile('docker', ['buildx', 'inspect', ...(name ? [name] : []), '--bootstrap']);
  return parseBuilderInspect(r.stdout);
}

/** The docker driver can build multi-platform images only with the containerd image store. */
export async function dockerUsesContainerdStore(): Promise<boolean> {
  const r = await execFile('docker', ['info', '--format', '{{json .DriverStatus}}'], {
    allowFailure: true,
  });
  return r.stdout.includes('io.containerd.snapshotter');
}

export function canBuildMultiPlatform(info: BuilderInfo, containerdStore: boolean): boolean {
  return info.driver !== 'docker' || containerdStore;
}

export async function createContainerBuilder(name: string): Promise<void> {
  await execFile('docker', [
    'buildx',
    'create',
    '--name',
    name,
    '--driver',
    'docker-container',
    '--bootstrap',
  ]);
}

export async function removeBuilder(name: string): Promise<void> {
  await execFile('docker', ['buildx', 'rm', '--force', name], { allowFailure: true });
}
