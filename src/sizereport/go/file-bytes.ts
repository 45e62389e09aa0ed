// An executable's bytes as the Go analysis reads them: one buffer, or the pieces a layer's
// decompressor handed over, left where it wrote them. Joining the pieces would cost more than the
// analysis: the first write to a page of memory is a page fault, and on the shared 2-core machine
// copying the 4.4 MB of an 8 MB Go executable that are not machine code took 17-22 ms, while the
// decompressor's thread has already paid for the pages it wrote. So the analysis reads its few
// small ranges (headers, build info) through `bytes`, which copies only a range that straddles two
// pieces, and walks the function table in place with a Cursor.

export class ElfFormatError extends Error {
  constructor(message: string) {
    super(`not a readable ELF file: ${message}`);
    this.name = 'ElfFormatError';
  }
}

/** A plain view: Buffer's own indexOf, run for every function name, takes a slower general path. */
const plain = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export class FileBytes {
  readonly length: number;
  private readonly pieces: readonly Uint8Array[];
  /** File offset of each piece, and the length after the last. */
  private readonly starts: readonly number[];
  /** The piece the last lookup found: reads mostly move forward through a file. */
  private hint = 0;
  private readonly views: (DataView | undefined)[] = [];

  private constructor(pieces: readonly Uint8Array[], starts: readonly number[]) {
    this.pieces = pieces;
    this.starts = starts;
    this.length = starts[starts.length - 1]!;
  }

  /** The bytes in the order they come in the file; they are read, never written. */
  static of(pieces: readonly Uint8Array[]): FileBytes {
    const kept: Uint8Array[] = [];
    const starts = [0];
    for (const p of pieces) {
      if (p.length === 0) continue;
      kept.push(plain(p));
      starts.push(starts[starts.length - 1]! + p.length);
    }
    return new FileBytes(kept, starts);
  }

  static from(bytes: Uint8Array | FileBytes): FileBytes {
    return bytes instanceof FileBytes ? bytes : FileBytes.of([bytes]);
  }

  /** Throws, naming what was read, unless [offset, offset + length) lies in the file. */
  check(offset: number, length: number, what: string): void {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.length
    )
      throw new ElfFormatError(
        `${what} at offset ${offset} (+${length}) lies outside the file (${this.length} bytes)`,
      );
  }

  /** The index of the piece that holds offset `at` (0 <= at < length). */
  pieceIndex(at: number): number {
    const s = this.starts;
    const i = this.hint;
    if (at >= s[i]! && at < s[i + 1]!) return i;
    if (at >= s[i + 1]! && at < s[i + 2]!) return (this.hint = i + 1);
    let lo = 0;
    let hi = this.pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return (this.hint = lo);
  }

  piece(i: number): Uint8Array {
    return this.pieces[i]!;
  }

  /** A DataView of piece i, made once: a cursor that moves between pieces makes none. */
  wordsOf(i: number): DataView {
    const p = this.pieces[i]!;
    return (this.views[i] ??= new DataView(p.buffer, p.byteOffset, p.byteLength));
  }

  startOf(i: number): number {
    return this.starts[i]!;
  }

  /** The bytes [from, from + length): a view when one piece holds them, else a copy. Checked. */
  bytes(from: number, length: number, what: string): Uint8Array {
    this.check(from, length, what);
    if (length === 0) return new Uint8Array(0);
    let i = this.pieceIndex(from);
    const start = this.starts[i]!;
    if (from + length <= this.starts[i + 1]!)
      return this.pieces[i]!.subarray(from - start, from - start + length);
    const out = new Uint8Array(length);
    for (let at = from, filled = 0; filled < length; i++) {
      const part = this.pieces[i]!.subarray(at - this.starts[i]!);
      const n = Math.min(part.length, length - filled);
      out.set(part.subarray(0, n), filled);
      filled += n;
      at += n;
    }
    return out;
  }

  /** The bytes [from, from + length) as a file of their own, sharing the pieces. Checked. */
  slice(from: number, length: number, what: string): FileBytes {
    this.check(from, length, what);
    if (length === 0) return FileBytes.of([]);
    const parts: Uint8Array[] = [];
    for (let i = this.pieceIndex(from); this.starts[i]! < from + length; i++) {
      const start = this.starts[i]!;
      parts.push(this.pieces[i]!.subarray(Math.max(0, from - start), from + length - start));
    }
    return FileBytes.of(parts);
  }

  /** The offset of the first byte `value` at or after `from`, or -1. */
  indexOf(value: number, from: number): number {
    if (from < 0 || from >= this.length) return -1;
    for (let i = this.pieceIndex(from); i < this.pieces.length; i++) {
      const start = this.starts[i]!;
      const found = this.pieces[i]!.indexOf(value, Math.max(0, from - start));
      if (found >= 0) return start + found;
    }
    return -1;
  }
}

/**
 * Reads of one FileBytes that mostly move forward, as the function table's walk makes them (one
 * cursor per table it reads): the piece last read is kept, so a read inside it costs two compares.
 * A read outside the file throws ElfFormatError naming `what`.
 */
export class Cursor {
  readonly file: FileBytes;
  private readonly littleEndian: boolean;
  private kept: Uint8Array = new Uint8Array(0);
  private words = new DataView(this.kept.buffer);
  /** The file offsets the kept piece spans. */
  private start = 0;
  private end = 0;

  constructor(file: FileBytes, littleEndian: boolean) {
    this.file = file;
    this.littleEndian = littleEndian;
  }

  get length(): number {
    return this.file.length;
  }

  /** The piece last read, for a loop that reads its bytes itself (hold moves it). */
  get piece(): Uint8Array {
    return this.kept;
  }

  /** The file offset of the piece's first byte. */
  get pieceStart(): number {
    return this.start;
  }

  /** Keeps the piece that holds offset `at`, which must lie in the file. */
  hold(at: number, what: string): void {
    if (at < this.start || at >= this.end) this.move(at, 1, what);
  }

  /** The bytes [at, at + length): a view of a piece, or a copy where pieces meet. Checked. */
  view(at: number, length: number, what: string): Uint8Array {
    if (length === 0) return this.file.bytes(at, 0, what);
    if (at < this.start || at + length > this.end) {
      this.move(at, length, what);
      if (at + length > this.end) return this.file.bytes(at, length, what);
    }
    return this.kept.subarray(at - this.start, at - this.start + length);
  }

  u32(at: number, what: string): number {
    if (at >= this.start && at + 4 <= this.end)
      return this.words.getUint32(at - this.start, this.littleEndian);
    return this.straddling(at, what).getUint32(0, this.littleEndian);
  }

  i32(at: number, what: string): number {
    if (at >= this.start && at + 4 <= this.end)
      return this.words.getInt32(at - this.start, this.littleEndian);
    return this.straddling(at, what).getInt32(0, this.littleEndian);
  }

  /** Keeps the piece that holds `at`, after checking [at, at + length) lies in the file. */
  private move(at: number, length: number, what: string): void {
    this.file.check(at, length, what);
    const i = this.file.pieceIndex(at);
    this.kept = this.file.piece(i);
    this.words = this.file.wordsOf(i);
    this.start = this.file.startOf(i);
    this.end = this.start + this.kept.length;
  }

  /** The 4 bytes at `at` when they are not in the kept piece: it moves there, or they are copied. */
  private straddling(at: number, what: string): DataView {
    this.move(at, 4, what);
    if (at + 4 <= this.end)
      return new DataView(this.kept.buffer, this.kept.byteOffset + at - this.start, 4);
    const b = this.file.bytes(at, 4, what);
    return new DataView(b.buffer, b.byteOffset, 4);
  }
}
