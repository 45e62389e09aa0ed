// Finds the Go executables in one layer while the measurement unpacks it: fed the same
// decompressed chunks that are counted for the unpacked size, it walks the tar in that one pass,
// keeps an executable ELF file's pieces of those chunks while it arrives (up to the cap, one file
// at a time, never copied: go/file-bytes.ts says why), analyses it when its last byte is in, and
// lets them go. Nothing is downloaded or read twice.
import { TarReader, type TarEntry } from '../cachemounts/archive/reader.ts';
import { getErrorMessage } from '../errors.ts';
import { checkExecutable, isImagePath } from './fields.ts';
import { humanBytes } from '../format.ts';
import {
  EXECUTABLES_RECORD,
  MAX_REMOVED,
  MAX_SKIPPED,
  keptModules,
  normalPath,
  type GoExecutable,
  type LayerExecutables,
  type SkippedFile,
} from './executables.ts';
import { FileBytes, isElf } from './go/analyse.ts';
import type { GoExecutableSizes } from './go/types.ts';

/**
 * `analyseGoExecutable` of go/analyse.ts: undefined for an ELF file that is not a Go program. The
 * bytes are views of the layer's unpacked chunks: read, never written.
 */
export type GoAnalyser = (bytes: FileBytes, file: string) => GoExecutableSizes | undefined;

/** How much one platform's walk may analyse, shared by its layers. */
export interface ScanBudget {
  /** Go executables analysed so far (the entrypoint is not counted). */
  analysed: number;
  max: number;
}

export interface LayerScanOptions {
  digest: string;
  analyse: GoAnalyser;
  /** Paths the image may start: always analysed, whatever the budget. */
  entrypoints: ReadonlySet<string>;
  /** Executables the layers below show: an entry at one of these paths replaces it. */
  below: ReadonlySet<string>;
  budget: ScanBudget;
  /** The largest file kept in memory to analyse. */
  cap: number;
}

/** A reason that quotes the layer's bytes: one printable line, short (fields.ts REASON). */
const oneLine = (s: string) =>
  // eslint-disable-next-line no-control-regex
  s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').slice(0, 200);

/** No ELF executable is smaller than its headers. */
const MIN_ELF = 64 + 56;

interface Collecting {
  file: string;
  size: number;
  /** The file's bytes so far: views of the chunks they came in. */
  pieces: Buffer[];
  filled: number;
  /** Known to be an ELF file worth analysing (decided once its first 4 bytes are in). */
  kept: boolean;
  entrypoint: boolean;
}

export class LayerScan {
  private readonly opts: LayerScanOptions;
  private readonly reader: TarReader;
  private readonly executables: GoExecutable[] = [];
  private readonly skipped: SkippedFile[] = [];
  private readonly removed = new Set<string>();
  private readonly opaque = new Set<string>();
  private current?: Collecting;
  private failed?: string;

  constructor(opts: LayerScanOptions) {
    this.opts = opts;
    this.reader = new TarReader({
      entry: (e) => this.entry(e),
      data: (chunk) => this.data(chunk),
    });
  }

  /** Never throws: a layer that is not a tar is reported as unread, and its bytes still count. */
  feed(chunk: Buffer): void {
    if (this.failed !== undefined) return;
    try {
      this.reader.feed(chunk);
    } catch (e) {
      this.fail(`not read as a tar: ${getErrorMessage(e)}`);
    }
  }

  /** The layer's record; one that could not be walked says why (and holds nothing else). */
  finish(): LayerExecutables {
    if (this.failed === undefined) {
      try {
        this.reader.end();
      } catch (e) {
        this.fail(`not read as a tar: ${getErrorMessage(e)}`);
      }
    }
    const empty: LayerExecutables = {
      v: EXECUTABLES_RECORD,
      executables: [],
      skipped: [],
      removed: [],
      opaque: [],
    };
    if (this.failed !== undefined) return { ...empty, unread: this.failed };
    if (this.removed.size > MAX_REMOVED || this.opaque.size > MAX_REMOVED)
      return { ...empty, unread: `more than ${MAX_REMOVED} whiteouts` };
    return {
      v: EXECUTABLES_RECORD,
      executables: this.executables,
      skipped: this.skipped,
      removed: [...this.removed],
      opaque: [...this.opaque],
    };
  }

  private fail(why: string): void {
    this.failed = oneLine(why);
    this.current = undefined;
  }

  private skip(file: string, reason: string): void {
    if (this.skipped.length < MAX_SKIPPED) this.skipped.push({ file, reason });
  }

  private entry(e: TarEntry): void {
    this.current = undefined;
    const file = normalPath(e.name);
    if (!file) return;
    const slash = file.lastIndexOf('/');
    const dir = slash < 0 ? '' : file.slice(0, slash);
    const base = file.slice(slash + 1);
    if (base.startsWith('.wh.')) {
      if (base === '.wh..wh..opq') this.opaque.add(dir);
      else this.removed.add(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
      return;
    }
    // Whatever this entry is, it takes the place of an executable below at the same path.
    if (this.opts.below.has(file)) this.removed.add(file);
    if (e.type !== 'file' || (e.mode & 0o111) === 0 || e.size < MIN_ELF) return;
    // A name the report could not show (a line break, thousands of characters) is not followed.
    if (!isImagePath(file)) return;
    this.current = {
      file,
      size: e.size,
      pieces: [],
      filled: 0,
      kept: false,
      entrypoint: this.opts.entrypoints.has(file),
    };
  }

  private data(chunk: Buffer): void {
    const c = this.current;
    if (!c) return;
    // The chunk is the decompressor's and is never written again: kept as it is, not copied.
    c.pieces.push(chunk);
    c.filled += chunk.length;
    if (!c.kept) {
      if (c.filled < 4) return;
      if (!this.worthAnalysing(c)) {
        this.current = undefined;
        return;
      }
      c.kept = true;
    }
    if (c.filled < c.size) return;
    this.current = undefined;
    this.analyse(c.file, FileBytes.of(c.pieces), c.entrypoint);
  }

  /** An ELF file within the cap and the budget (or the entrypoint); else skipped, saying why if it matters. */
  private worthAnalysing(c: Collecting): boolean {
    if (!isElf(FileBytes.of(c.pieces))) return false;
    const { budget, cap } = this.opts;
    if (c.size > cap) {
      this.skip(
        c.file,
        `${humanBytes(c.size)}, larger than the ${humanBytes(cap)} read to analyse`,
      );
      return false;
    }
    if (!c.entrypoint && budget.analysed >= budget.max) {
      this.skip(c.file, `not analysed: more than ${budget.max} Go executables`);
      return false;
    }
    return true;
  }

  private analyse(file: string, bytes: FileBytes, entrypoint: boolean): void {
    let sizes: GoExecutableSizes | undefined;
    try {
      sizes = this.opts.analyse(bytes, file);
    } catch (e) {
      this.skip(file, `not analysed: ${oneLine(getErrorMessage(e))}`);
      return;
    }
    if (!sizes) return; // an ELF file, not a Go program
    if (!entrypoint) this.opts.budget.analysed++;
    this.removed.delete(file);
    try {
      // What the executable's own bytes said, against the grammar a saved report is read with.
      this.executables.push(
        checkExecutable({
          file,
          layer: this.opts.digest,
          fileBytes: sizes.fileBytes,
          goVersion: sizes.goVersion,
          mainModule: sizes.mainModule,
          attributed: sizes.attributed,
          ...(sizes.reason !== undefined ? { reason: oneLine(sizes.reason) } : {}),
          modules: keptModules(sizes.modules),
        }),
      );
    } catch (e) {
      this.skip(file, `not listed: ${oneLine(getErrorMessage(e))}`);
    }
  }
}
