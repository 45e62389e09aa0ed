// Restored caches are untrusted: before their tar reaches the builder, every header is checked.
// Only regular files and directories (and symlinks that stay inside the mount) pass; no device
// files, no hard links, no setuid/setgid bits, no absolute or escaping names.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import path from 'node:path';

export interface TarCheck {
  ok: boolean;
  reason?: string;
  files: number;
  bytes: number;
}

function str(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return s.subarray(0, z < 0 ? len : z).toString('utf8');
}

function octal(b: Buffer, off: number, len: number): number {
  if ((b[off]! & 0x80) !== 0) return Number.NaN; // base-256: not produced by our tar for sane sizes
  const t = str(b, off, len).trim();
  return t === '' ? 0 : /^[0-7]+$/.test(t) ? parseInt(t, 8) : Number.NaN;
}

function escapes(name: string): boolean {
  const n = path.posix.normalize(name);
  return name.startsWith('/') || n === '..' || n.startsWith('../');
}

export function checkTar(
  file: string,
  limits = { maxFiles: 2_000_000, maxBytes: 64 * 1024 ** 3 },
): TarCheck {
  const fd = openSync(file, 'r');
  const total = fstatSync(fd).size;
  const h = Buffer.alloc(512);
  let pos = 0;
  let files = 0;
  let bytes = 0;
  let longName: string | undefined;
  const bad = (reason: string): TarCheck => ({ ok: false, reason, files, bytes });
  try {
    while (pos + 512 <= total) {
      readSync(fd, h, 0, 512, pos);
      if (h.every((x) => x === 0)) return { ok: true, files, bytes };
      const sum = octal(h, 148, 8);
      let calc = 0;
      for (let i = 0; i < 512; i++) calc += i >= 148 && i < 156 ? 32 : h[i]!;
      if (sum !== calc) return bad(`corrupt header at byte ${pos}`);
      const size = octal(h, 124, 12);
      const mode = octal(h, 100, 8);
      if (!Number.isFinite(size) || !Number.isFinite(mode))
        return bad(`unreadable header at byte ${pos}`);
      const type = String.fromCharCode(h[156] || 48);
      const prefix = str(h, 345, 155);
      let name = longName ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
      longName = undefined;
      const dataLen = Math.ceil(size / 512) * 512;
      if (type === 'L') {
        if (size > 65536) return bad('long name too long');
        const nb = Buffer.alloc(size);
        readSync(fd, nb, 0, size, pos + 512);
        longName = nb.toString('utf8').replace(/\0.*$/s, '');
        pos += 512 + dataLen;
        continue;
      }
      if (type === 'x' || type === 'g') {
        if (size > 1 << 20) return bad('pax header too long');
        const pb = Buffer.alloc(size);
        readSync(fd, pb, 0, size, pos + 512);
        const m = /\d+ path=([^\n]*)\n/.exec(pb.toString('utf8'));
        if (m && type === 'x') longName = m[1];
        if (/ linkpath=/.test(pb.toString('utf8')) && type === 'x') {
          const lp = / linkpath=([^\n]*)\n/.exec(pb.toString('utf8'))?.[1] ?? '';
          if (lp.startsWith('/') || escapes(path.posix.join(path.posix.dirname(m?.[1] ?? '.'), lp)))
            return bad(`link target "${lp}" escapes the mount`);
        }
        pos += 512 + dataLen;
        continue;
      }
      if (escapes(name)) return bad(`entry "${name}" escapes the mount`);
      if ((mode & 0o6000) !== 0) return bad(`entry "${name}" has a setuid or setgid bit`);
      if (type === '0' || type === '\0' || type === '7') {
        files++;
        bytes += size;
      } else if (type === '5') {
        /* directory */
      } else if (type === '2') {
        const target = str(h, 157, 100);
        if (target.startsWith('/') || escapes(path.posix.join(path.posix.dirname(name), target)))
          return bad(`symlink "${name}" -> "${target}" points out of the mount`);
      } else if (type === '1') return bad(`hard link "${name}" is not accepted`);
      else return bad(`entry "${name}" is a device, fifo or unknown type "${type}"`);
      if (files > limits.maxFiles || bytes > limits.maxBytes)
        return bad('archive exceeds the size or file-count bound');
      name = '';
      pos += 512 + dataLen;
    }
    return pos === 0
      ? bad('empty archive')
      : bad('archive ends without its end marker (truncated)');
  } finally {
    closeSync(fd);
  }
}
