// Files the action reads from the workspace or the runner are untrusted input: read them with a
// size bound, so a hostile or runaway file cannot exhaust the runner's memory.
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { FileFormatError } from '../errors.ts';

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
