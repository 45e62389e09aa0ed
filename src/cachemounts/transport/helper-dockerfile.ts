// The helper builds' Dockerfiles: what runs in the builder to put archives into cache mounts and to
// take them out (with the Go build cache pruned and capped there, as the store asks). Pure text, so
// it is tested without Docker. The mount options repeat the user's exactly, or BuildKit would
// address a different cache.
import type { CacheMount } from '../discover.ts';

export function mountFlag(m: CacheMount, target: string): string {
  const opts = [`type=cache`, `id=${m.id}`, `target=${target}`, `sharing=${m.sharing}`];
  if (m.uid !== undefined) opts.push(`uid=${m.uid}`);
  if (m.gid !== undefined) opts.push(`gid=${m.gid}`);
  if (m.mode !== undefined) opts.push(`mode=${m.mode}`);
  return `--mount=${opts.join(',')}`;
}

/** Where a helper build reaches this process over the host's loopback (loopback.ts). */
export interface LoopbackPeer {
  host: string;
  port: number;
  token: string;
}

/**
 * What the helper's shell runs on. `scratch`: an empty root with the helper image bound read-only
 * at /h; `image`: the helper image itself as the root. An image root is an overlay filesystem, and
 * unmounting an overlay syncs the whole filesystem under it: each transfer waited until every dirty
 * page on the engine's disk was written, what it had just unpacked and whatever else had been
 * written before it, such as the archive the restore had just unpacked (measured: about 0.3 s
 * after 190 MB were written, however recently). An empty root is a plain bind mount and waits for
 * nothing; the data go to disk in the background (settleLocal in index.ts). It needs a helper whose
 * tools run from /h/bin without a root of their own (statically linked, as the busybox images
 * are); any other helper gets its own image as root.
 */
export type HelperRoot = 'scratch' | 'image';

const HELPER_PATH = '/h/bin:/h/usr/bin:/h/sbin:/h/usr/sbin';

/** One helper stage: the helper's shell runs `script` with `mounts`, on the root asked for. */
function helperStage(opts: {
  helperImage: string;
  root: HelperRoot;
  hostNetwork: boolean;
  mounts: string[];
  script: string;
  stage?: string;
}): string[] {
  const scratch = opts.root === 'scratch';
  const flags = [
    ...(opts.hostNetwork ? ['--network=host'] : []),
    ...(scratch
      ? [`--mount=type=bind,from=${opts.helperImage},target=/h`, '--mount=type=tmpfs,target=/tmp']
      : []),
    ...opts.mounts,
  ];
  return [
    `FROM ${scratch ? 'scratch' : opts.helperImage}${opts.stage ? ` AS ${opts.stage}` : ''}`,
    'ARG BGI_RUN',
    ...(scratch ? [`ENV PATH=${HELPER_PATH}`] : []),
    'RUN \\',
    ...flags.map((f) => `    ${f} \\`),
    // The exec form on an empty root: there is no /bin/sh there, the helper's is at /h/bin/sh.
    `    ${scratch ? JSON.stringify(['/h/bin/sh', '-c', opts.script]) : opts.script}`,
  ];
}

export interface InjectSource {
  /** Fetch the archives from this loopback peer, else read them from the build context at /in. */
  peer?: LoopbackPeer;
  /** Loopback: fetch each archive whole into a tmpfs at /in and unpack it there; else pipe. */
  staged?: boolean;
}

/**
 * The helper's shell command that unpacks mount-<i>.tar into /c<i>: from the build context at
 * /in, or, with a loopback peer, fetched from it by wget. `staged`: each archive is fetched whole
 * into a tmpfs at /in, unpacked from there and deleted, one at a time; else wget pipes into tar.
 * BusyBox tar reading a pipe costs about as much again as the unpack itself (measured for 190 MB:
 * 0.63 s piped, 0.36 s fetched to tmpfs and unpacked).
 *
 * The archives are normalised (archive/normalise.ts), and each is unpacked by its own tar into its
 * own mount, emptied first: a mount a builder kept from an earlier run may hold links, and tar
 * would write through a link to a directory. In an empty mount the only links are the archive's
 * own, which point inside it and have nothing written beneath them. rm does not follow links.
 */
export function injectScript(count: number, { peer, staged }: InjectSource = {}): string {
  const file = (i: number) => `/in/mount-${i}.tar`;
  const empty = (i: number) => `rm -rf /c${i}/* /c${i}/.[!.]* /c${i}/..?*`;
  const untar = (i: number, from?: string) =>
    `tar -x --numeric-owner${from ? ` -f ${from}` : ''} -C /c${i}`;
  const url = (i: number) => `http://${peer?.host}:${peer?.port}/${peer?.token}/mount-${i}.tar`;
  const fill = (i: number) =>
    !peer
      ? untar(i, file(i))
      : staged
        ? `wget -q -O ${file(i)} ${url(i)} && ${untar(i, file(i))} && rm -f ${file(i)}`
        : `wget -q -O - ${url(i)} | ${untar(i)}`;
  const unpack = (i: number) => `${empty(i)} && ${fill(i)}`;
  const steps = Array.from({ length: count }, (_, i) => unpack(i));
  return `${peer ? 'set -o pipefail && ' : ''}echo "restore $BGI_RUN" && ${steps.join(' && ')}`;
}

/** Dockerfile that unpacks mount-<i>.tar into cache mount i, all in one build (no syntax line). */
export function injectDockerfile(
  mounts: CacheMount[],
  helperImage: string,
  source: InjectSource & { root?: HelperRoot } = {},
): string {
  const input = !source.peer
    ? '--mount=type=bind,source=.,target=/in'
    : source.staged
      ? '--mount=type=tmpfs,target=/in'
      : undefined;
  return [
    ...helperStage({
      helperImage,
      root: source.root ?? 'image',
      hostNetwork: Boolean(source.peer),
      mounts: [...mounts.map((m, i) => mountFlag(m, `/c${i}`)), ...(input ? [input] : [])],
      script: injectScript(mounts.length, source),
    }),
    '',
  ].join('\n');
}

export interface ExtractItem {
  mount: CacheMount;
  pruneOlderThanMinutes?: number;
  /** Go build cache only: drop the oldest entries until the content fits in this many bytes. */
  capBytes?: number;
}

/**
 * Dockerfile that archives cache mount i to /out/mount-<i>/content.tar (with its file count), all in
 * one build. For a Go build cache (found by its trim.txt or README) it first removes what may go,
 * from the mount too (busybox tar has no exclude list, and Go rebuilds a missing entry):
 * - entries this build did not use: Go refreshes an entry's mtime when it uses it and the mtime is
 *   more than an hour old, so entries older than (build start - 1h - margin) were certainly unused;
 * - then, while the rest is over the size cap, the oldest entries (least recently used first).
 * Other caches (GOMODCACHE) are kept whole: a module directory missing files breaks the build.
 */
export function extractDockerfile(
  items: ExtractItem[],
  helperImage: string,
  { peer, root }: { peer?: LoopbackPeer; root?: HelperRoot } = {},
): string {
  const archive = items.map((it, i) => {
    const unused = it.pruneOlderThanMinutes
      ? `find . -type f -mmin +${Math.ceil(it.pruneOlderThanMinutes)} ! -name trim.txt ! -name README > /tmp/unused; xargs -r rm -f < /tmp/unused; `
      : '';
    // Entries by age, oldest first; drop from the front until the total fits. Go cache file
    // names are hex, without spaces.
    const overCap = it.capBytes
      ? `find . -type f ! -name trim.txt ! -name README -exec stat -c '%Y %s %n' {} + | sort -n | awk -v cap=${Math.floor(it.capBytes)} '{ t += $2; s[NR] = $2; f[NR] = $3 } END { for (i = 1; i <= NR && t > cap; i++) { print f[i]; t -= s[i] } }' > /tmp/over; xargs -r rm -f < /tmp/over; `
      : '';
    const goOnly =
      unused || overCap
        ? `if [ -f trim.txt ] || grep -qs "Go build system" README; then ${unused}${overCap}fi; `
        : '';
    // To the loopback peer: a "<token> <name>" line, then the archive (the file count is read
    // from the archive there); else into /out, exported with the file count.
    const write = peer
      ? uploadCommand(peer, `mount-${i}`)
      : `mkdir -p /out/mount-${i} && tar -c --numeric-owner -f /out/mount-${i}/content.tar . && find . -type f | wc -l > /out/mount-${i}/files`;
    return [
      `( cd /c${i} && : > /tmp/unused && : > /tmp/over && ${goOnly}`,
      `echo "save $BGI_RUN mount ${i}: $(wc -l < /tmp/unused) unused, $(wc -l < /tmp/over) over the cap" && `,
      write,
      ' )',
    ].join('');
  });
  return [
    ...helperStage({
      helperImage,
      root: root ?? 'image',
      hostNetwork: Boolean(peer),
      mounts: items.map((it, i) => mountFlag(it.mount, `/c${i}`)),
      script: `${peer ? 'set -o pipefail' : 'mkdir -p /out'} && ${archive.join(' && ')}`,
      stage: 'dump',
    }),
    ...(peer ? [] : ['FROM scratch', 'COPY --from=dump /out/ /']),
    '',
  ].join('\n');
}

/**
 * Shell that sends the current directory as a tar to the loopback peer. BusyBox nc copies through a
 * small buffer (measured: ~1 s for 180 MB, twice what tar itself takes), so where nc has `-e`, tar
 * runs on the connection itself and writes straight into the socket; any other nc gets a pipe.
 * tar's own status is the command's either way (exec under -e, pipefail for the pipe).
 */
export function uploadCommand(peer: LoopbackPeer, name: string): string {
  const send = `echo "${peer.token} ${name}"; exec tar -c --numeric-owner .`;
  return [
    `case "$(nc --help 2>&1)" in *'-e PROG'*) nc ${peer.host} ${peer.port} -e sh -c '${send}' ;; `,
    `*) { ${send.replace('exec ', '')}; } | nc ${peer.host} ${peer.port} ;; esac`,
  ].join('');
}
