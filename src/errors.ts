/** Text of any thrown value: `e instanceof Error` alone would let a thrown string pass silently. */
export function getErrorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

/** A problem with what the user gave us: the message names the input and the fix. */
export class InputError extends Error {
  readonly input: string;
  constructor(input: string, message: string) {
    super(`input "${input}": ${message}`);
    this.name = 'InputError';
    this.input = input;
  }
}

/** A file the user gave us could not be understood: names the file and line. */
export class FileFormatError extends Error {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'FileFormatError';
    this.file = file;
    this.line = line;
  }
}
