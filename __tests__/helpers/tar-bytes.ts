// Tar archives built byte by byte, so a test controls every header field, including the ones a
// real tar would never write wrong (checksums, number fields, pax record lengths, magic).

export interface RawHeader {
  /** The name field (first 100 bytes), or a Buffer of raw bytes. */
  name: string | Buffer;
  typeflag?: string;
  /** A number is written as 7 octal digits; a string goes into the field as it is. */
  mode?: number | string;
  /** A number is written as 11 octal digits; a string or Buffer goes into the field as it is. */
  size?: number | string | Buffer;
  mtime?: number | string;
  linkname?: string;
  /** 'posix' (ustar\0 00), 'gnu' (ustar  \0) or raw 8 bytes. */
  magic?: 'posix' | 'gnu' | string;
  prefix?: string;
  /** Added to the correct checksum (0 keeps it right); a string goes into the field as it is. */
  checksum?: number | string;
}

const field = (h: Buffer, off: number, len: number, v: string | Buffer) =>
  (typeof v === 'string' ? Buffer.from(v, 'latin1') : v).copy(h, off, 0, len);

export function header(r: RawHeader): Buffer {
  const h = Buffer.alloc(512);
  field(h, 0, 100, r.name);
  const num = (v: number | string, digits: number) =>
    typeof v === 'string' ? v : `${v.toString(8).padStart(digits, '0')}\0`;
  field(h, 100, 8, num(r.mode ?? 0o644, 7));
  field(h, 108, 8, num(0, 7));
  field(h, 116, 8, num(0, 7));
  field(h, 124, 12, Buffer.isBuffer(r.size) ? r.size : num(r.size ?? 0, 11));
  field(h, 136, 12, num(r.mtime ?? 1_700_000_000, 11));
  field(h, 156, 1, r.typeflag ?? '0');
  field(h, 157, 100, r.linkname ?? '');
  const magic = r.magic ?? 'posix';
  field(h, 257, 8, magic === 'posix' ? 'ustar\x0000' : magic === 'gnu' ? 'ustar  \0' : magic);
  if (r.prefix) field(h, 345, 155, r.prefix);
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  const cs = r.checksum ?? 0;
  field(h, 148, 8, typeof cs === 'string' ? cs : `${(sum + cs).toString(8).padStart(6, '0')}\0 `);
  return h;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** A header and its data, padded to the block. The size field is the data's unless given. */
export function entry(r: RawHeader, data: string | Buffer = ''): Buffer {
  const d = Buffer.from(data);
  return Buffer.concat([header({ size: d.length, ...r }), d, pad(d.length)]);
}

export const file = (name: string, data = '', extra: Partial<RawHeader> = {}) =>
  entry({ name, ...extra }, data);
export const dir = (name: string, extra: Partial<RawHeader> = {}) =>
  entry({ name, typeflag: '5', mode: 0o755, ...extra });
export const symlink = (name: string, target: string, extra: Partial<RawHeader> = {}) =>
  entry({ name, typeflag: '2', mode: 0o777, linkname: target, ...extra });

/** A pax record with its length computed right. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const n = Buffer.byteLength(body);
  let len = n + String(n).length;
  if (String(len).length !== String(n).length) len++;
  return `${len}${body}`;
}

/** A pax extended header ('x', or 'g') with the given raw record text. */
export const pax = (records: string, typeflag = 'x') =>
  entry({ name: 'PaxHeader', typeflag }, records);

/** GNU long name ('L') or long link ('K'): the name and a NUL, unless raw bytes are given. */
export const gnuLong = (value: string | Buffer, typeflag = 'L') =>
  entry(
    { name: '././@LongLink', typeflag, magic: 'gnu' },
    typeof value === 'string' ? Buffer.from(`${value}\0`) : value,
  );

/** Two zero blocks. */
export const END = Buffer.alloc(1024);

export const archive = (...parts: Buffer[]) => Buffer.concat([...parts, END]);
