// Restored cache archives are untrusted: the action reads them strictly and writes a new archive
// that the helper's tar unpacks. Hostile archives here are built byte by byte; each class of attack
// has several cases, and every archive the normaliser writes is checked for the subset it promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  openSync,
  statSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ArchiveRejected,
  normaliseArchive,
  type NormaliseOptions,
  type NormaliseResult,
} from '../../src/cachemounts/archive/normalise.ts';
import {
  parsePaxRecords,
  scanArchive,
  TarFormatError,
  TarReader,
  type TarEntry,
} from '../../src/cachemounts/archive/reader.ts';
import { indexArchive } from '../../src/cachemounts/archive/positions.ts';
import { setHeaderMtime } from '../../src/cachemounts/archive/writer.ts';
import {
  archive,
  dir,
  END,
  entry,
  file,
  gnuLong,
  header,
  pax,
  paxRecord,
  symlink,
} from '../helpers/tar-bytes.ts';

const work = () => mkdtempSync(path.join(tmpdir(), 'bgi-archive-'));
const OWNER: NormaliseOptions = { uid: 1234, gid: 5678, rootMode: 0o755 };
/** Go marks its build cache with trim.txt at the top: such a mount loses entries, not the archive. */
const GO_MARK = file('./trim.txt', '1700000000');

interface Outcome {
  result?: NormaliseResult;
  rejected?: string;
  entries: TarEntry[];
  data: Map<string, string>;
}

async function normalise(bytes: Buffer, opts: NormaliseOptions = OWNER): Promise<Outcome> {
  const dirPath = work();
  const src = path.join(dirPath, 'restored.tar');
  const out = path.join(dirPath, 'normalised.tar');
  writeFileSync(src, bytes);
  try {
    const result = await normaliseArchive(src, out, opts);
    return { result, ...readBack(readFileSync(out), opts) };
  } catch (e) {
    if (!(e instanceof ArchiveRejected)) throw e;
    assert.throws(() => readFileSync(out), /ENOENT/, 'a rejected archive leaves no output');
    return { rejected: e.message, entries: [], data: new Map() };
  }
}

/**
 * Reads a normalised archive back, checking the subset the writer promises header by header:
 * POSIX ustar only, types 0/5/2 and pax headers with path/linkpath only, the given owner,
 * permissions within 0755 (symlinks 0777), no name prefix.
 */
function readBack(buf: Buffer, opts: NormaliseOptions) {
  for (let at = 0; at + 512 <= buf.length;) {
    const h = buf.subarray(at, at + 512);
    if (h.every((b) => b === 0)) {
      assert.ok(buf.subarray(at).every((b) => b === 0) && buf.length - at === 1024, 'end marker');
      break;
    }
    assert.equal(h.toString('latin1', 257, 265), 'ustar\x0000', `magic at ${at}`);
    const type = String.fromCharCode(h[156]!);
    assert.ok('052x'.includes(type), `type ${type} at ${at}`);
    assert.ok(
      h.subarray(345, 500).every((b) => b === 0),
      `no prefix at ${at}`,
    );
    const num = (off: number, len: number) => {
      const t = h.toString('latin1', off, off + len);
      assert.match(t, /^[0-7]+\0$/, `octal field at ${at}+${off}`);
      return parseInt(t, 8);
    };
    const size = num(124, 12);
    if (type === 'x') {
      const keys = [...parsePaxRecords(buf.subarray(at + 512, at + 512 + size), at).keys()];
      assert.ok(
        keys.every((k) => k === 'path' || k === 'linkpath'),
        keys.join(),
      );
    } else {
      const mode = num(100, 8);
      assert.equal(mode & ~(type === '2' ? 0o777 : 0o755), 0, `mode ${mode.toString(8)} at ${at}`);
      assert.deepEqual([num(108, 8), num(116, 8)], [opts.uid, opts.gid], `owner at ${at}`);
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  const entries: TarEntry[] = [];
  const data = new Map<string, string>();
  let current = '';
  const reader = new TarReader({
    entry(e) {
      entries.push(e);
      current = e.name;
      if (e.type === 'file') data.set(e.name, '');
    },
    data(chunk) {
      data.set(current, data.get(current) + chunk.toString('latin1'));
    },
  });
  reader.feed(buf);
  reader.end();
  return { entries, data };
}

const names = (o: Outcome) => o.entries.map((e) => e.name);

test('a plain Go build cache archive comes through, owner and root mode from the mount', async () => {
  const o = await normalise(
    archive(
      dir('./', { mode: 0o777 }),
      dir('./ab/', { mode: 0o700 }),
      file('./ab/ab12-d', 'x'.repeat(1000), { mode: 0o600, mtime: 1_650_000_000 }),
      GO_MARK,
      symlink('./ab/link', 'ab12-d'),
      file('./ab/tool', '#!', { mode: 0o775 }),
    ),
  );
  assert.equal(o.rejected, undefined);
  assert.deepEqual(
    o.entries.map((e) => [e.name, e.type, e.mode.toString(8), e.linkname]),
    [
      ['./', 'directory', '755', ''],
      ['ab/', 'directory', '700', ''],
      ['ab/ab12-d', 'file', '600', ''],
      ['trim.txt', 'file', '644', ''],
      ['ab/link', 'symlink', '777', 'ab12-d'],
      ['ab/tool', 'file', '755', ''],
    ],
  );
  assert.equal(o.entries[2]!.mtime, 1_650_000_000, 'mtimes kept: the save prunes by them');
  assert.equal(o.data.get('ab/ab12-d'), 'x'.repeat(1000));
  assert.deepEqual(
    [o.result!.files, o.result!.directories, o.result!.symlinks, o.result!.bytes],
    [3, 2, 1, 1012],
  );
  assert.equal(o.result!.goBuildCache, true);
  assert.equal(o.result!.dropped, 0);
});

test('sourceBytes is the length of the archive as restored', async () => {
  const bytes = archive(file('./a', 'one'), file('./b', 'two'));
  assert.equal((await normalise(bytes)).result!.sourceBytes, bytes.length);
});

/**
 * Entry-level classes: what may not be carried. Any cache but Go's loses the whole archive (reason
 * matched); a Go build cache loses that entry only, and keeps the rest.
 */
const ENTRY_CLASSES: [string, [string, Buffer[], RegExp][]][] = [
  [
    'devices and fifos',
    [
      ['character device', [entry({ name: './null', typeflag: '3' })], /a device/],
      ['block device', [entry({ name: './sda', typeflag: '4' })], /a device/],
      ['fifo', [entry({ name: './p', typeflag: '6' })], /a fifo/],
    ],
  ],
  [
    'hard links',
    [
      [
        'to a file in the mount',
        [entry({ name: './h', typeflag: '1', linkname: 'ok' })],
        /hard link/,
      ],
      [
        'to /etc/shadow',
        [entry({ name: './h', typeflag: '1', linkname: '/etc/shadow' })],
        /hard link/,
      ],
      ['climbing out', [entry({ name: './h', typeflag: '1', linkname: '../../x' })], /hard link/],
    ],
  ],
  [
    '".." in names',
    [
      ['leading', [file('../evil', 'x')], /"\.\." in the name/],
      ['after a directory', [file('./a/../../root/.ssh/authorized_keys', 'k')], /"\.\."/],
      ['at the end of a directory', [dir('./a/..')], /"\.\."/],
      ['deep', [file('a/b/c/../../../../x', 'x')], /"\.\."/],
    ],
  ],
  [
    'absolute names',
    [
      ['/etc/cron.d', [file('/etc/cron.d/x', 'evil')], /absolute name/],
      ['double slash', [file('//x', 'evil')], /absolute name/],
      ['the root itself', [dir('/')], /absolute name/],
    ],
  ],
  [
    'symlinks leaving the mount',
    [
      ['../../etc', [symlink('./etc', '../../etc')], /above the mount/],
      ['absolute target', [symlink('./bin', '/usr/bin')], /absolute symlink target/],
      ['one level too many', [dir('./d/'), symlink('./d/l', '../../x')], /above the mount/],
      ['into the other mount by path', [symlink('./o', '/root/go/pkg/mod')], /absolute/],
      [
        '".." after a name (could climb through a link)',
        [symlink('./l', 'ok/../..')],
        /after a name/,
      ],
      ['empty target', [symlink('./l', '')], /empty symlink target/],
    ],
  ],
  [
    'entries beneath a symlink of the same archive',
    [
      [
        'a file through a link to a directory',
        [dir('./d/'), symlink('./l', 'd'), file('./l/x', 'x')],
        /beneath the symlink "l"/,
      ],
      [
        'a directory through it',
        [dir('./d/'), symlink('./l', 'd'), dir('./l/sub/')],
        /beneath the symlink/,
      ],
      ['deeper', [dir('./d/'), symlink('./l', 'd'), file('./l/a/b/c', 'x')], /beneath the symlink/],
      [
        'the child named by a pax path',
        [dir('./d/'), symlink('./l', 'd'), pax(paxRecord('path', 'l/x')), file('./innocent', 'x')],
        /beneath the symlink/,
      ],
      ['beneath a regular file', [file('./f', 'x'), file('./f/x', 'y')], /beneath the file/],
    ],
  ],
  [
    'duplicates',
    [
      ['a directory replaced by a symlink', [dir('./d/'), symlink('./d', '.')], /listed twice/],
      ['a symlink replaced by a file', [symlink('./l', 'ok'), file('./l', 'x')], /listed twice/],
      ['a file replaced by a directory', [file('./f', 'x'), dir('./f/')], /listed twice/],
      ['a file replaced by a symlink', [file('./f', 'x'), symlink('./f', 'ok')], /listed twice/],
      [
        'a directory listed after its contents',
        [file('./d/x', 'x'), dir('./d/')],
        /after its contents/,
      ],
      ['the mount root twice', [dir('./'), dir('.')], /root listed twice/],
      ['the same directory twice', [dir('./d/'), dir('d')], /listed twice/],
    ],
  ],
  [
    'pax names overriding the header',
    [
      ['path to ..', [pax(paxRecord('path', '../../etc/passwd')), file('./fine', 'x')], /"\.\."/],
      [
        'path absolute',
        [pax(paxRecord('path', '/etc/passwd')), file('./fine', 'x')],
        /absolute name/,
      ],
      [
        'path with .. in the middle',
        [pax(paxRecord('path', 'a/../../b')), file('./fine', 'x')],
        /"\.\."/,
      ],
      [
        'linkpath climbing out',
        [pax(paxRecord('linkpath', '../../../etc')), symlink('./l', 'fine')],
        /above the mount/,
      ],
    ],
  ],
  [
    'GNU long names (converted, and checked like any name)',
    [
      [
        'long name with ..',
        [
          gnuLong(
            `${'a/'.repeat(60)}../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../x`,
          ),
          file('./short', 'x'),
        ],
        /"\.\."/,
      ],
      [
        'long link absolute',
        [gnuLong('/etc/shadow', 'K'), symlink('./l', 'fine')],
        /absolute symlink target/,
      ],
    ],
  ],
  [
    'what the reader frames but does not understand',
    [
      ['volume label type V', [entry({ name: './label', typeflag: 'V' })], /entry type "V"/],
      [
        'GNU dump directory type D',
        [entry({ name: './d', typeflag: 'D' }, 'dumpdir\0')],
        /entry type "D"/,
      ],
      ['vendor type Z', [entry({ name: './z', typeflag: 'Z' }, 'zz')], /entry type "Z"/],
      ['a digit type 9', [entry({ name: './n', typeflag: '9' })], /entry type "9"/],
      [
        'an unknown pax key (an xattr)',
        [pax(paxRecord('SCHILY.xattr.security.capability', 'x')), file('./cap', 'x')],
        /pax key "SCHILY\.xattr/,
      ],
      [
        'a name that is not UTF-8',
        [entry({ name: Buffer.from([0x2e, 0x2f, 0xff, 0xfe]) }, 'x')],
        /not UTF-8/,
      ],
      ['a name ending in / for a file', [file('./f/', 'x')], /ending in "\/"/],
    ],
  ],
];

for (const [klass, cases] of ENTRY_CLASSES)
  for (const [name, parts, reason] of cases) {
    test(`${klass}: ${name}: refused in a module cache, left out of a Go build cache`, async () => {
      const plain = await normalise(archive(file('./ok', 'fine'), ...parts));
      assert.match(plain.rejected ?? '(accepted)', reason);
      const go = await normalise(
        archive(GO_MARK, file('./ok', 'fine'), ...parts, file('./after', 'later')),
      );
      assert.equal(go.rejected, undefined, go.rejected);
      assert.ok(go.result!.dropped >= 1);
      assert.match(go.result!.firstDropped ?? '', reason);
      // What was left out is not there; the entries around it are.
      assert.equal(go.data.get('ok'), 'fine');
      assert.equal(go.data.get('after'), 'later');
      for (const e of go.entries) {
        assert.doesNotMatch(e.name, /(^|\/)\.\.(\/|$)|^\//, e.name);
        if (e.type === 'symlink') assert.doesNotMatch(e.linkname, /^\/|[^.]\/\.\./, e.linkname);
      }
    });
  }

test('the Go build cache is also known by its README', async () => {
  const readme = file(
    './README',
    'This directory holds cached build artifacts from the Go build system.\n',
  );
  const o = await normalise(archive(readme, entry({ name: './null', typeflag: '3' })));
  assert.equal(o.result?.goBuildCache, true);
  const other = await normalise(
    archive(file('./README', 'a module cache'), entry({ name: './null', typeflag: '3' })),
  );
  assert.match(other.rejected ?? '', /a device/);
});

test('a later file replaces a file, a symlink a symlink (a delta laid over its full entry)', async () => {
  const dirPath = work();
  const out = path.join(dirPath, 'out.tar');
  writeFileSync(
    path.join(dirPath, 'in.tar'),
    archive(
      dir('./d/'),
      file('./d/x', 'old'),
      symlink('./d/l', 'x'),
      file('./d/y', 'y'),
      file('./d/x', 'new'),
      symlink('./d/l', 'y'),
    ),
  );
  const r = await normaliseArchive(path.join(dirPath, 'in.tar'), out, {
    ...OWNER,
    uid: process.getuid!(),
    gid: process.getgid!(),
  });
  assert.deepEqual([r.files, r.symlinks, r.dropped], [2, 1, 0]);
  mkdirSync(path.join(dirPath, 'x'));
  execFileSync('tar', ['-x', '-f', out, '-C', path.join(dirPath, 'x')]);
  assert.equal(readlinkSync(path.join(dirPath, 'x', 'd', 'l')), 'y');
  assert.equal(readFileSync(path.join(dirPath, 'x', 'd', 'x'), 'utf8'), 'new');
});

test('symlinks that stay inside are kept, their targets written cleaned', async () => {
  const o = await normalise(
    archive(
      dir('./a/b/'),
      symlink('./a/b/up', '../../x'),
      symlink('./a/b/dot', './/./c'),
      symlink('./self', '.'),
      symlink('./a/sibling', '../z'),
    ),
  );
  assert.equal(o.rejected, undefined, o.rejected);
  assert.deepEqual(
    o.entries.filter((e) => e.type === 'symlink').map((e) => [e.name, e.linkname]),
    [
      ['a/b/up', '../../x'],
      ['a/b/dot', 'c'],
      ['self', '.'],
      ['a/sibling', '../z'],
    ],
  );
});

test('setuid, setgid, sticky and group/other write bits are masked, never refused', async () => {
  const o = await normalise(
    archive(
      file('./suid', '#!', { mode: 0o4755 }),
      file('./sgid', '#!', { mode: 0o2755 }),
      file('./both', '#!', { mode: 0o6777 }),
      dir('./sticky/', { mode: 0o1777 }),
      dir('./sgid-dir/', { mode: 0o2775 }),
      file('./ro', 'r', { mode: 0o444 }),
    ),
  );
  assert.deepEqual(
    o.entries.map((e) => [e.name, e.mode.toString(8)]),
    [
      ['suid', '755'],
      ['sgid', '755'],
      ['both', '755'],
      ['sticky/', '755'],
      ['sgid-dir/', '755'],
      ['ro', '444'],
    ],
  );
});

test('parents an archive does not list are written before their contents', async () => {
  const o = await normalise(archive(file('./x/y/z', 'deep')));
  assert.deepEqual(names(o), ['x/', 'x/y/', 'x/y/z']);
});

/** Archive-level classes: the archive cannot be read without guessing, Go build cache or not. */
const tail = (b: Buffer, n: number) => b.subarray(0, b.length - n);
const withByte = (b: Buffer, at: number, v: number) => {
  const c = Buffer.from(b);
  c[at] = v;
  return c;
};
const ARCHIVE_CLASSES: [string, [string, Buffer, RegExp][]][] = [
  [
    'sparse files',
    [
      [
        'GNU sparse type S',
        archive(entry({ name: './s', typeflag: 'S', magic: 'gnu' }, 'x')),
        /sparse/,
      ],
      [
        'pax GNU.sparse.size',
        archive(pax(paxRecord('GNU.sparse.size', '99999999')), file('./s', 'x')),
        /sparse/,
      ],
      [
        'pax GNU.sparse.map',
        archive(pax(paxRecord('GNU.sparse.map', '0,1')), file('./s', 'x')),
        /sparse/,
      ],
      [
        'pax sparse 1.0 (major/minor/name)',
        archive(
          pax(
            paxRecord('GNU.sparse.major', '1') +
              paxRecord('GNU.sparse.minor', '0') +
              paxRecord('GNU.sparse.name', 's'),
          ),
          file('./GNUSparseFile.0/s', 'x'),
        ),
        /sparse/,
      ],
    ],
  ],
  [
    'pax records that are not what their length says',
    [
      ['length too long', archive(pax('99 path=a\n'), file('./x')), /does not match/],
      [
        'length too short',
        archive(pax('5 path=abc\n'), file('./x')),
        /does not match|without a key/,
      ],
      ['length off by one', archive(pax('12 path=abcd\n'), file('./x')), /does not match/],
      ['not a number', archive(pax('1a path=a\n'), file('./x')), /not a number/],
      ['leading zero', archive(pax('011 path=ab\n'), file('./x')), /not a number/],
      ['no key', archive(pax('7 =abc\n'), file('./x')), /without a key/],
      [
        'bytes after the last record',
        archive(pax(`${paxRecord('path', 'a')}junk`), file('./x')),
        /without its length|not a number/,
      ],
      [
        'the same key twice',
        archive(pax(paxRecord('path', 'a') + paxRecord('path', 'b')), file('./x')),
        /given twice/,
      ],
      ['an empty path', archive(pax(paxRecord('path', '')), file('./x')), /empty/],
      ['a NUL in the path', archive(pax(paxRecord('path', 'a\0b')), file('./x')), /NUL/],
      [
        'a size that is not a number',
        archive(pax(paxRecord('size', '1e3')), file('./x')),
        /not a number/,
      ],
    ],
  ],
  [
    'headers that disagree about one entry',
    [
      [
        'two pax headers',
        archive(pax(paxRecord('path', 'a')), pax(paxRecord('linkpath', 'b')), symlink('./x', 'y')),
        /second pax header/,
      ],
      [
        'GNU long name and pax path',
        archive(gnuLong('long-a'), pax(paxRecord('path', 'long-b')), file('./x')),
        /given twice/,
      ],
      [
        'two GNU long names',
        archive(gnuLong('long-a'), gnuLong('long-b'), file('./x')),
        /given twice/,
      ],
      [
        'a GNU long name that is not one NUL-terminated name',
        archive(gnuLong(Buffer.from('a\0b\0')), file('./x')),
        /NUL-terminated/,
      ],
      [
        'a GNU long name of no bytes',
        archive(gnuLong(Buffer.alloc(0)), file('./x')),
        /NUL-terminated/,
      ],
      [
        'a GNU long name without its NUL',
        archive(gnuLong(Buffer.from('abc')), file('./x')),
        /NUL-terminated/,
      ],
      [
        'an extension header before the end marker',
        archive(pax(paxRecord('path', 'a'))),
        /without its entry/,
      ],
      [
        'a global pax header',
        archive(pax(paxRecord('comment', 'x'), 'g'), file('./x')),
        /global pax header/,
      ],
    ],
  ],
  [
    'bad checksums',
    [
      ['a name byte changed', withByte(archive(file('./a', 'x')), 1, 0x41), /checksum wrong/],
      ['the checksum off by one', archive(entry({ name: './a', checksum: 1 })), /checksum wrong/],
      [
        'a signed-byte checksum (as some old tars computed it)',
        archive(entry({ name: './\xe9', checksum: -256 })),
        /checksum wrong/,
      ],
      [
        'a checksum that is not octal',
        archive(entry({ name: './a', checksum: '0000009\0' })),
        /checksum is not an octal number/,
      ],
    ],
  ],
  [
    'numbers that are not plain octal',
    [
      [
        'a hex digit in the size',
        archive(entry({ name: './a', size: '0000000001a\0' })),
        /size is not an octal/,
      ],
      [
        'a base-256 size',
        archive(
          entry({ name: './a', size: Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]) }, 'x'),
        ),
        /base-256 size/,
      ],
      [
        'leading spaces in the size',
        archive(entry({ name: './a', size: '          1\0' }, 'x')),
        /size is not an octal/,
      ],
      [
        'an empty size',
        archive(entry({ name: './a', size: '\0\0\0\0\0\0\0\0\0\0\0\0' })),
        /size is not an octal/,
      ],
      [
        'a sign in the mode',
        archive(entry({ name: './a', mode: '-000644\0' })),
        /mode is not an octal/,
      ],
      [
        'a base-256 mtime',
        archive(entry({ name: './a', mtime: '\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff' })),
        /base-256 mtime/,
      ],
    ],
  ],
  [
    'truncated archives',
    [
      ['inside the data', tail(archive(file('./a', 'x'.repeat(2000))), 1024 + 600), /truncated/],
      ['inside a header', archive(file('./a', 'x')).subarray(0, 300), /truncated/],
      ['without the end marker', tail(archive(file('./a', 'x')), 1024), /truncated/],
      ['with one zero block of two', tail(archive(file('./a', 'x')), 512), /truncated/],
      ['empty', Buffer.alloc(0), /truncated/],
      [
        'inside a pax header',
        pax(paxRecord('path', 'a'.repeat(600))).subarray(0, 700),
        /truncated/,
      ],
    ],
  ],
  [
    'data after the end marker',
    [
      [
        'a byte of garbage',
        Buffer.concat([archive(file('./a', 'x')), Buffer.from('x')]),
        /after the archive's end marker/,
      ],
      [
        'a second archive appended',
        Buffer.concat([archive(file('./a', 'x')), archive(file('./b', 'y'))]),
        /after the archive's end marker/,
      ],
      [
        'garbage in the second zero block',
        withByte(archive(file('./a', 'x')), 1024 + 700, 1),
        /after the archive's end marker/,
      ],
    ],
  ],
  [
    'sizes that cannot be',
    [
      [
        '8 GiB claimed in a small archive',
        archive(entry({ name: './a', size: 0o77777777777 }, 'x')),
        /truncated/,
      ],
      [
        'a pax size of a petabyte',
        archive(pax(paxRecord('size', '999999999999999')), file('./a', 'x')),
        /more than .* bytes of data/,
      ],
      [
        'a directory with data',
        archive(entry({ name: './d/', typeflag: '5', size: 512 }, Buffer.alloc(512, 0x41))),
        /directory entry .* claims 512 bytes/,
      ],
      [
        'a symlink with data',
        archive(entry({ name: './l', typeflag: '2', linkname: 'a', size: 3 }, 'abc')),
        /symlink entry .* claims 3 bytes/,
      ],
      [
        'a hard link with data (GNU skips it, POSIX does not)',
        archive(entry({ name: './h', typeflag: '1', linkname: 'a', size: 512 }, Buffer.alloc(512))),
        /hardlink entry .* claims/,
      ],
      [
        'a GNU long name of a megabyte',
        archive(gnuLong(Buffer.alloc(1 << 20, 0x61)), file('./a')),
        /claims 1048576 bytes/,
      ],
    ],
  ],
  [
    'headers of no known format',
    [
      [
        'an old V7 header (no magic)',
        archive(entry({ name: './a', magic: '\0\0\0\0\0\0\0\0' }, 'x')),
        /neither POSIX ustar nor GNU/,
      ],
      [
        'a misspelt magic',
        archive(entry({ name: './a', magic: 'ustar\x0001' }, 'x')),
        /neither POSIX ustar nor GNU/,
      ],
    ],
  ],
];

for (const [klass, cases] of ARCHIVE_CLASSES)
  for (const [name, bytes, reason] of cases)
    test(`${klass}: ${name}: the whole archive is refused, even for a Go build cache`, async () => {
      const plain = await normalise(bytes);
      assert.match(plain.rejected ?? '(accepted)', reason);
      // The Go mark first: still refused, since the archive itself cannot be read.
      const go = await normalise(Buffer.concat([tail(archive(GO_MARK), 1024), bytes]));
      assert.match(go.rejected ?? '(accepted)', reason);
    });

test('limits on entries and bytes', async () => {
  const dirPath = work();
  const src = path.join(dirPath, 'in.tar');
  writeFileSync(src, archive(file('./a', 'xx'), file('./b', 'yy'), file('./c', 'zz')));
  await assert.rejects(
    normaliseArchive(src, path.join(dirPath, 'o1'), {
      ...OWNER,
      limits: { maxEntries: 2, maxBytes: 100 },
    }),
    /more than 2 entries/,
  );
  await assert.rejects(
    normaliseArchive(src, path.join(dirPath, 'o2'), {
      ...OWNER,
      limits: { maxEntries: 10, maxBytes: 5 },
    }),
    /more than 5 bytes/,
  );
});

test('names longer than a header holds go through pax path/linkpath records the writer writes', async () => {
  const longDir = `${'d'.repeat(99)}/${'e'.repeat(99)}`;
  const longTarget = `${'e'.repeat(99)}/${'f'.repeat(120)}`;
  const o = await normalise(
    archive(
      // GNU long names in, pax records out.
      gnuLong(`./${longDir}/`),
      dir('./truncated-name/'),
      gnuLong(`./${longDir}/${'f'.repeat(120)}`),
      file('./truncated-name-2', 'long'),
      gnuLong(`./${'d'.repeat(99)}/link`),
      gnuLong(longTarget, 'K'),
      symlink('./truncated-link-name', 'truncated-target'),
      pax(paxRecord('path', `./${'p'.repeat(150)}`)),
      file('./x', 'pax'),
    ),
  );
  assert.equal(o.rejected, undefined, o.rejected);
  assert.deepEqual(names(o), [
    `${'d'.repeat(99)}/`,
    `${longDir}/`,
    `${longDir}/${'f'.repeat(120)}`,
    `${'d'.repeat(99)}/link`,
    'p'.repeat(150),
  ]);
  assert.equal(o.entries[3]!.linkname, longTarget);
  assert.equal(o.data.get('p'.repeat(150)), 'pax');
});

test('the POSIX name prefix is read for ustar headers and ignored in GNU headers', async () => {
  const posix = await normalise(archive(entry({ name: 'file', prefix: 'some/dir' }, 'x')));
  assert.deepEqual(names(posix), ['some/', 'some/dir/', 'some/dir/file']);
  // GNU keeps other fields there (atime, ctime...), never a name.
  const gnu = await normalise(
    archive(entry({ name: 'file', prefix: '12345670123', magic: 'gnu' }, 'x')),
  );
  assert.deepEqual(names(gnu), ['file']);
});

test('scanArchive counts files and refuses what does not end whole', async () => {
  const dirPath = work();
  const f = path.join(dirPath, 'a.tar');
  writeFileSync(f, archive(dir('./'), file('./a', 'xx'), file('./b', 'yyy'), symlink('./l', 'a')));
  assert.deepEqual(await scanArchive(f), { entries: 4, files: 2, bytes: 5 });
  writeFileSync(f, tail(archive(file('./a', 'xx')), 1024));
  await assert.rejects(scanArchive(f), TarFormatError);
});

test('the reader takes an archive fed a byte at a time as it takes it whole', async () => {
  const bytes = archive(
    gnuLong(`./${'n'.repeat(200)}`),
    file('./ignored', 'abc'.repeat(300)),
    pax(paxRecord('path', 'p'.repeat(130)) + paxRecord('mtime', '1700000001.25')),
    file('./y', 'z'),
  );
  const seen = (feedBy: number) => {
    const out: string[] = [];
    const r = new TarReader({
      entry: (e) => out.push(`${e.name} ${e.size} ${e.mtime}`),
      data: (c) => out.push(`+${c.length}`),
    });
    for (let i = 0; i < bytes.length; i += feedBy) r.feed(bytes.subarray(i, i + feedBy));
    r.end();
    return out
      .filter((l) => !l.startsWith('+'))
      .concat(
        String(out.filter((l) => l.startsWith('+')).reduce((n, l) => n + Number(l.slice(1)), 0)),
      );
  };
  assert.deepEqual(seen(1), seen(bytes.length));
  assert.deepEqual(seen(7), seen(bytes.length));
  assert.deepEqual(seen(bytes.length), [
    `./${'n'.repeat(200)} 900 1700000000`,
    `${'p'.repeat(130)} 1 1700000001`,
    '901',
  ]);
});

/** Files, symlinks and directories under `root`: relative path → what it is and holds. */
function treeOf(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path.join(root, r));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.set(r, `link -> ${readlinkSync(path.join(root, r))}`);
      else if (st.isDirectory()) {
        out.set(r, `dir ${mode}`);
        walk(r);
      } else {
        // Whole seconds: a ustar header holds no more.
        const digest = createHash('sha256')
          .update(readFileSync(path.join(root, r)))
          .digest('hex');
        out.set(r, `file ${mode} ${Math.floor(st.mtimeMs / 1000)} ${digest}`);
      }
    }
  };
  walk('');
  return out;
}

for (const format of ['gnu', 'posix'])
  test(`round trip: GNU tar (${format} format) of a real tree, normalised, unpacked by GNU tar into the same tree`, async () => {
    const dirPath = work();
    const src = path.join(dirPath, 'src');
    const deep = path.join(src, 'a'.repeat(60), 'b'.repeat(60), 'c');
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(deep, 'f'.repeat(110)), Buffer.alloc(70_000, 7));
    writeFileSync(path.join(src, 'small'), 'x');
    writeFileSync(path.join(src, 'empty'), '');
    writeFileSync(path.join(src, 'tool'), '#!/bin/sh\n');
    chmodSync(path.join(src, 'tool'), 0o755);
    writeFileSync(path.join(src, 'readonly'), 'r');
    chmodSync(path.join(src, 'readonly'), 0o444);
    mkdirSync(path.join(src, 'nested', 'more'), { recursive: true });
    symlinkSync('../small', path.join(src, 'nested', 'up'));
    symlinkSync(
      path.relative(path.join(src, 'nested', 'more'), path.join(deep, 'f'.repeat(110))),
      path.join(src, 'nested', 'more', 'long-target'),
    );
    symlinkSync('nested/more', path.join(src, 'dirlink'));
    const restored = path.join(dirPath, 'restored.tar');
    execFileSync('tar', ['-c', `--format=${format}`, '-f', restored, '-C', src, '.']);
    const out = path.join(dirPath, 'normalised.tar');
    const uid = process.getuid!();
    const gid = process.getgid!();
    const r = await normaliseArchive(restored, out, { uid, gid, rootMode: 0o755 });
    assert.deepEqual([r.files, r.symlinks, r.dropped], [5, 3, 0]);
    const into = path.join(dirPath, 'into');
    mkdirSync(into);
    execFileSync('tar', ['-x', '-f', out, '-C', into]);
    assert.deepEqual(treeOf(into), treeOf(src));
    // GNU tar sees only what the normaliser promises: ustar headers and pax path/linkpath.
    const listing = execFileSync('tar', ['-t', '-v', '--numeric-owner', '-f', out]).toString();
    assert.ok(
      listing
        .split('\n')
        .filter(Boolean)
        .every((l) => l.includes(`${uid}/${gid}`)),
      listing,
    );
  });

test('an empty archive (only the end marker) is a valid, empty state', async () => {
  const o = await normalise(END);
  assert.equal(o.rejected, undefined);
  assert.deepEqual(names(o), []);
  // And header() is what the other tests build on: its checksum is right.
  const h = header({ name: './a' });
  assert.equal(
    parseInt(h.toString('latin1', 148, 154), 8),
    [...h].reduce((n, b, i) => n + (i >= 148 && i < 156 ? 32 : b), 0),
  );
});

test('indexArchive: where each entry of a GNU tar archive sits, read by the one reader without its data', () => {
  const dirPath = work();
  const src = path.join(dirPath, 'src');
  const long = path.join(src, 'd'.repeat(120));
  mkdirSync(long, { recursive: true });
  writeFileSync(path.join(long, 'big-d'), Buffer.alloc(70_001, 3));
  writeFileSync(path.join(src, 'small-a'), 'action\n');
  writeFileSync(path.join(src, 'empty'), '');
  symlinkSync('small-a', path.join(src, 'link'));
  const tarFile = path.join(dirPath, 'a.tar');
  execFileSync('tar', ['-c', '--format=gnu', '-f', tarFile, '-C', src, '.']);
  const bytes = readFileSync(tarFile);
  const index = indexArchive(tarFile);
  const listed = execFileSync('tar', ['-t', '-f', tarFile])
    .toString()
    .split('\n')
    .map((n) => n.replace(/^\.\//, '').replace(/\/$/, ''))
    .filter((n) => n !== '' && n !== '.');
  assert.deepEqual(index.entries.map((e) => e.name).sort(), listed.sort());
  for (const e of index.entries) {
    assert.ok(e.start <= e.header && e.header + 512 <= e.end, e.name);
    assert.equal(e.end - e.header, 512 + Math.ceil(e.size / 512) * 512, e.name);
    if (e.kind === 'file') {
      const content = readFileSync(path.join(src, e.name));
      assert.equal(e.size, content.length, e.name);
      assert.ok(bytes.subarray(e.header + 512, e.header + 512 + e.size).equals(content), e.name);
    }
  }
  assert.equal(index.entries.find((e) => e.name === 'link')?.linkName, 'small-a');
  const longName = index.entries.find((e) => e.name.endsWith('big-d'))!;
  assert.ok(longName.start < longName.header, 'the GNU long-name record comes before the header');
  // Entries follow each other, and the end marker comes right after the last one.
  const sorted = [...index.entries].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]!.start >= sorted[i - 1]!.end);
  assert.equal(index.endOfEntries, sorted.at(-1)!.end);
  assert.ok(bytes.subarray(index.endOfEntries, index.endOfEntries + 1024).every((b) => b === 0));
  // What the reader refuses, the index refuses: a cut archive, a wrong checksum.
  const cut = path.join(dirPath, 'cut.tar');
  writeFileSync(cut, bytes.subarray(0, longName.header + 1024));
  assert.throws(() => indexArchive(cut));
  const bad = Buffer.from(bytes);
  bad[longName.header + 10] = bad[longName.header + 10]! ^ 1;
  writeFileSync(cut, bad);
  assert.throws(() => indexArchive(cut), TarFormatError);
});

test('setHeaderMtime: a new mtime in place, with a checksum every tar accepts', async () => {
  const dirPath = work();
  const src = path.join(dirPath, 'src');
  mkdirSync(src);
  writeFileSync(path.join(src, 'entry-d'), Buffer.alloc(5000, 1));
  writeFileSync(path.join(src, 'other-d'), 'o');
  const tarFile = path.join(dirPath, 'a.tar');
  execFileSync('tar', ['-c', '-f', tarFile, '-C', src, '.']);
  const target = indexArchive(tarFile).entries.find((e) => e.name === 'entry-d')!;
  const when = 1_700_000_123;
  const fd = openSync(tarFile, 'r+');
  try {
    setHeaderMtime(fd, target.header, when);
  } finally {
    closeSync(fd);
  }
  const after = indexArchive(tarFile).entries;
  assert.equal(after.find((e) => e.name === 'entry-d')!.mtime, when);
  assert.notEqual(after.find((e) => e.name === 'other-d')!.mtime, when);
  assert.equal((await scanArchive(tarFile)).files, 2);
  const into = path.join(dirPath, 'into');
  mkdirSync(into);
  execFileSync('tar', ['-x', '-f', tarFile, '-C', into]);
  assert.equal(Math.floor(statSync(path.join(into, 'entry-d')).mtimeMs / 1000), when);
});
