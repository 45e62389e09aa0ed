// A restored cache archive is untrusted, and a checker that passes someone else's bytes on to tar
// can never be shown to read them as tar does. So the action reads the restored archive strictly
// (reader.ts) and writes a new one itself (writer.ts) holding only what it understood and allows:
// regular files, directories, and symlinks that stay inside the mount, with plain permissions and
// the mount's owner. Only that new archive reaches the helper build. The helper's tar then reads
// bytes this module wrote, in the simplest subset of the format, into an emptied mount, and:
// - never follows a link: an entry beneath a symlink of the same archive, a name listed twice
//   (which could replace a directory by a link; only a file may replace a file, a link a link),
//   or a directory listed after its contents is not written;
// - creates no link that points out: link targets are relative, climb only with leading `..`, and
//   not above the mount (a `..` after a name could climb through another link, so it is refused).
// What the reader frames but does not understand, or what may not be carried (hard links, devices,
// fifos, escaping names or links): a Go build cache loses that entry (Go rebuilds what is missing);
// any other cache loses the whole archive (a module directory missing a file breaks the build).
import { open, rm } from 'node:fs/promises';
import {
  DEFAULT_LIMITS,
  readChunks,
  TarFormatError,
  TarReader,
  type TarEntry,
  type TarLimits,
  type TarVisitor,
} from './reader.ts';
import { MAX_OCTAL_11, MAX_OCTAL_7, TarWriter, type WrittenType } from './writer.ts';

/** The restored archive is not used; the message says why. */
export class ArchiveRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveRejected';
  }
}

export interface NormaliseOptions {
  /** Owner of every entry written: the cache mount's uid/gid (BuildKit's default is 0:0). */
  uid: number;
  gid: number;
  /** Mode of the mount's own root (the mount's `mode`, else BuildKit's 0755): not the archive's. */
  rootMode: number;
  limits?: TarLimits;
}

export interface NormaliseResult {
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of file data written. */
  bytes: number;
  /** Entries left out of a Go build cache, and why the first one was. */
  dropped: number;
  firstDropped?: string;
  /** The archive holds Go's trim.txt, or its README, at the top: a Go build cache. */
  goBuildCache: boolean;
  /** Length of the archive as restored. */
  sourceBytes: number;
}

/**
 * What a mount's archive is written with: BuildKit's owner and mode for the mount (its `uid`,
 * `gid` and `mode` options, else 0, 0 and 0755), never the archive's own.
 */
export function mountOwnership(m: {
  uid?: number;
  gid?: number;
  mode?: string;
}): Pick<NormaliseOptions, 'uid' | 'gid' | 'rootMode'> {
  return { uid: m.uid ?? 0, gid: m.gid ?? 0, rootMode: m.mode ? parseInt(m.mode, 8) : 0o755 };
}

/** Permission bits carried: no setuid, setgid or sticky bit, no write for group or others. */
const PERMISSIONS = 0o755;
const GO_README_MARK = 'Go build system';

/** A name for messages: quoted and escaped (no control character reaches the log), bounded. */
function quote(name: string): string {
  const q = JSON.stringify(name);
  return q.length > 160 ? `${q.slice(0, 150)}…"` : q;
}

/**
 * The components of an entry's name inside the mount, or why it has none. `./a//b/` is `a/b`;
 * an absolute name, a `..` anywhere, or a trailing `/` on anything but a directory is refused.
 */
export function entryPath(name: string, type: TarEntry['type']): string[] | string {
  if (name.startsWith('/')) return 'an absolute name';
  if (name.endsWith('/') && type !== 'directory') return 'a name ending in "/" for a non-directory';
  const parts = name.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) return 'a ".." in the name';
  return parts;
}

/**
 * A symlink target as written, or why it is refused. Resolved lexically from the link's directory
 * (`depth` components below the mount root); only leading `..` may climb, and not above the root.
 * `a/../b` is refused although it looks inside: if `a` is itself a link, `..` climbs from where
 * `a` points, not from here.
 */
export function symlinkTarget(
  target: string,
  depth: number,
): { target: string } | { refused: string } {
  if (target === '') return { refused: 'an empty symlink target' };
  if (target.startsWith('/')) return { refused: 'an absolute symlink target' };
  const parts = target.split('/').filter((c) => c !== '' && c !== '.');
  const up = parts.findIndex((c) => c !== '..');
  const climbs = up < 0 ? parts.length : up;
  if (parts.slice(climbs).includes('..'))
    return { refused: 'a ".." after a name in the symlink target' };
  if (climbs > depth) return { refused: 'a symlink target above the mount' };
  return { target: parts.length === 0 ? '.' : parts.join('/') };
}

type Kind = 'directory' | 'file' | 'symlink';

class Normaliser implements TarVisitor {
  private readonly writer: TarWriter;
  private readonly opts: NormaliseOptions;
  /** Every path written, and what it is: nothing twice, nothing beneath a link or a file. */
  private readonly seen = new Map<string, Kind>();
  private keeping = false;
  /** The top-level README's first bytes, while its data pass (capturing) and after. */
  private capturing = false;
  private readonly readme: Buffer[] = [];
  readonly result: Omit<NormaliseResult, 'sourceBytes'> = {
    files: 0,
    directories: 0,
    symlinks: 0,
    bytes: 0,
    dropped: 0,
    goBuildCache: false,
  };

  constructor(writer: TarWriter, opts: NormaliseOptions) {
    this.writer = writer;
    this.opts = opts;
  }

  entry(e: TarEntry): void {
    this.keeping = false;
    this.capturing = false;
    const why = this.write(e);
    if (why === undefined) return;
    this.result.dropped++;
    this.result.firstDropped ??= `${quote(e.name)} at byte ${e.offset}: ${why}`;
  }

  data(chunk: Buffer): void {
    if (!this.keeping) return;
    this.writer.data(chunk);
    if (this.capturing && this.readme.reduce((n, b) => n + b.length, 0) < 4096)
      this.readme.push(Buffer.from(chunk.subarray(0, 4096)));
  }

  /** After the last entry: a cache other than Go's that lost an entry is refused whole. */
  finish(): void {
    if (Buffer.concat(this.readme).includes(GO_README_MARK)) this.result.goBuildCache = true;
    const r = this.result;
    if (r.dropped > 0 && !r.goBuildCache)
      throw new ArchiveRejected(
        `${r.firstDropped}${r.dropped > 1 ? ` (and ${r.dropped - 1} more entries)` : ''}`,
      );
  }

  /** Writes the entry as normalised; returns why it cannot be written instead. */
  private write(e: TarEntry): string | undefined {
    if (e.notUnderstood) return `not understood: ${e.notUnderstood}`;
    if (e.type === 'hardlink') return 'a hard link';
    if (e.type === 'device' || e.type === 'fifo') return `a ${e.type}`;
    if (e.type === 'unknown') return `entry type "${e.typeflag}"`;
    const parts = entryPath(e.name, e.type);
    if (typeof parts === 'string') return parts;
    const mtime = Math.min(e.mtime, MAX_OCTAL_11);
    const owner = { uid: this.opts.uid, gid: this.opts.gid };
    if (parts.length === 0) {
      if (e.type !== 'directory') return 'a non-directory in place of the mount itself';
      if (this.seen.has('')) return 'the mount root listed twice';
      this.seen.set('', 'directory');
      this.writer.add({
        name: '.',
        type: 'directory',
        mode: this.opts.rootMode,
        mtime,
        size: 0,
        ...owner,
      });
      this.result.directories++;
      return undefined;
    }
    const key = parts.join('/');
    // What is there already decides: nothing beneath a link or a file.
    const missing: string[] = [];
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const kind = this.seen.get(parent);
      if (kind === 'symlink') return `beneath the symlink ${quote(parent)}`;
      if (kind === 'file') return `beneath the file ${quote(parent)}`;
      if (kind === undefined) missing.push(parent);
    }
    // A file may replace a file, a symlink a symlink (a delta laid over its full entry): tar
    // unlinks the first and creates the second, following nothing. Any other pair is refused: a
    // file written over a link could be written through it, a directory replaced by a link moves
    // what follows.
    const before = this.seen.get(key);
    const replaces = before !== undefined;
    if (replaces && !(before === e.type && e.type !== 'directory'))
      return 'listed twice (or a directory listed after its contents)';
    let linkname: string | undefined;
    if (e.type === 'symlink') {
      const link = symlinkTarget(e.linkname, parts.length - 1);
      if ('refused' in link) return `${link.refused} (${quote(e.linkname)})`;
      linkname = link.target;
    }
    if (e.size > MAX_OCTAL_11) return 'a file of 8 GiB or more';
    // Parents the archive did not list are written first, so tar creates no directory of its own.
    for (const parent of missing) {
      this.seen.set(parent, 'directory');
      this.writer.add({ name: parent, type: 'directory', mode: 0o755, mtime, size: 0, ...owner });
      this.result.directories++;
    }
    const type: WrittenType = e.type;
    this.seen.set(key, type);
    const mode = type === 'symlink' ? 0o777 : e.mode & PERMISSIONS;
    this.writer.add({ name: key, type, mode, mtime, size: e.size, linkname, ...owner });
    if (type === 'file') {
      if (!replaces) this.result.files++;
      this.result.bytes += e.size;
      this.keeping = e.size > 0;
      if (key === 'trim.txt') this.result.goBuildCache = true;
      this.capturing = key === 'README';
    } else if (type === 'directory') this.result.directories++;
    else if (!replaces) this.result.symlinks++;
    return undefined;
  }
}

/**
 * Reads the archive at `source` and writes its normalised form to `target` (created anew), one
 * chunk at a time. Throws ArchiveRejected when the archive is not used (nothing is left at
 * `target` then); other errors are the file system's.
 */
export async function normaliseArchive(
  source: string,
  target: string,
  opts: NormaliseOptions,
): Promise<NormaliseResult> {
  if (opts.uid > MAX_OCTAL_7 || opts.gid > MAX_OCTAL_7)
    throw new ArchiveRejected(
      `the mount's uid/gid ${opts.uid}/${opts.gid} is too large for a tar header`,
    );
  const fh = await open(target, 'wx');
  const writer = new TarWriter(fh);
  const normaliser = new Normaliser(writer, opts);
  const reader = new TarReader(normaliser, opts.limits ?? DEFAULT_LIMITS);
  let sourceBytes = 0;
  try {
    // Synchronous up to the write: a chunk the reader refuses stops the loop before the next.
    await readChunks(source, (chunk) => {
      sourceBytes += chunk.length;
      reader.feed(chunk);
      // The writer holds pieces of this chunk by reference: written before the buffer is reused.
      return writer.flush();
    });
    reader.end();
    normaliser.finish();
    await writer.finish();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(target, { force: true });
    if (e instanceof TarFormatError) throw new ArchiveRejected(e.message);
    throw e;
  }
  return { ...normaliser.result, sourceBytes };
}
