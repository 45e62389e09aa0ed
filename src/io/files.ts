// Files the action reads from the workspace or the runner are untrusted input: read them with a
// size bound, so a hostile or runaway file cannot exhaust the runner's memory. A file an input
// names is read through readInputFile, so every way it can be wrong (missing, a directory, a FIFO,
// unreadable, too large) is told with the input and the file, never as a bare EISDIR or ENOENT.
import {
  closeSync,
  openSync,
  readFileSync,
  readSync,
  fstatSync,
  statSync,
  type Stats,
} from 'node:fs';
import { FileFormatError, InputError } from '../errors.ts';

export function readBoundedText(file: string, maxBytes: number, what: string): string {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes)
      throw new FileFormatError(
        file,
        1,
        `${what} is ${size} bytes, more than the ${maxBytes} this action reads`,
      );
    const buf = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buf, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buf.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * A file found in a checkout (outside input), read only when it is, or links to, a regular file of
 * at most `maxBytes`: a link to /dev/zero, a FIFO or a directory must not hang or exhaust the step.
 * Otherwise why it was not read, for the caller to decide what that means.
 */
export function readRegularFile(
  file: string,
  maxBytes: number,
): { bytes: Buffer } | { not: 'not a regular file' | 'unreadable' | `too large: ${number}` } {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return { not: 'not a regular file' };
    size = st.size;
  } catch {
    return { not: 'unreadable' };
  }
  if (size > maxBytes) return { not: `too large: ${size}` };
  try {
    return { bytes: readFileSync(file) };
  } catch {
    return { not: 'unreadable' };
  }
}

/** What an errno means for a path a user gave, in words. */
function reasonOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'ENOTDIR':
      return 'does not exist (a part of the path is a file, not a directory)';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    case 'ELOOP':
      return 'is a loop of symbolic links';
    case 'ENAMETOOLONG':
      return 'is a path too long for the system';
    case 'EISDIR':
      return 'is a directory';
    default:
      return `cannot be read (${code ?? (e instanceof Error ? e.message : String(e))})`;
  }
}

function statOf(input: string, file: string, fix: string): Stats {
  if (file.includes('\0')) throw new InputError(input, `the path holds a NUL character: ${fix}`);
  try {
    return statSync(file);
  } catch (e) {
    throw new InputError(input, `${file} ${reasonOf(e)}: ${fix}`);
  }
}

/** The path names a regular file the action can open (buildx reads it later: secret-files). */
export function checkInputFile(input: string, file: string, fix: string): void {
  const st = statOf(input, file, fix);
  if (st.isDirectory()) throw new InputError(input, `${file} is a directory: ${fix}`);
  if (!st.isFile())
    throw new InputError(input, `${file} is not a regular file (a device, FIFO or socket): ${fix}`);
  try {
    closeSync(openSync(file, 'r'));
  } catch (e) {
    throw new InputError(input, `${file} ${reasonOf(e)}: ${fix}`);
  }
}

/** The path names a directory (context, merge). */
export function checkInputDirectory(input: string, dir: string, fix: string): void {
  const st = statOf(input, dir, fix);
  if (!st.isDirectory()) throw new InputError(input, `${dir} is not a directory: ${fix}`);
}

/**
 * The text of a file an input names, at most maxBytes. Every failure is an InputError naming the
 * input and the file, with the fix; the size check comes before any byte is read.
 */
export function readInputFile(
  input: string,
  file: string,
  opts: { maxBytes: number; what: string; fix: string },
): string {
  checkInputFile(input, file, opts.fix);
  try {
    return readBoundedText(file, opts.maxBytes, opts.what);
  } catch (e) {
    if (e instanceof FileFormatError) throw new InputError(input, e.message);
    throw new InputError(input, `${file} ${reasonOf(e)}: ${opts.fix}`);
  }
}
