// Records each cell of the fault matrix (dependency x fault kind -> promised behaviour) as a test,
// and prints the matrix with its counts when the file's tests are done.
import { after, test, type TestContext } from 'node:test';

export const FAULT_KINDS = [
  'refused',
  'timeout',
  '5xx',
  '429',
  'malformed',
  'auth',
  'notfound',
] as const;
export type FaultColumn = (typeof FAULT_KINDS)[number];

/**
 * fail-fast: the step fails at once, naming the cause and the fix.
 * degrade: a warning, and the job goes on with less (cold build, no check, no comment, no save).
 * retry>ok / retry>degrade / retry>fail: retried within a bound, then that outcome.
 */
export type Promise_ = 'fail-fast' | 'degrade' | 'retry>ok' | 'retry>degrade' | 'retry>fail';

interface Cell {
  row: string;
  fault: FaultColumn;
  promise: Promise_ | 'n/a';
  passed: boolean;
  note?: string;
}

const cells: Cell[] = [];

/** Set when the build engine is missing outside CI: cells then skip (and show as not met). */
let skipReason: string | undefined;
export function skipCellsBecause(reason: string | undefined): void {
  skipReason = reason;
}

export function cell(
  row: string,
  fault: FaultColumn,
  promise: Promise_,
  fn: (t: TestContext) => Promise<void>,
): void {
  const c: Cell = { row, fault, promise, passed: false };
  cells.push(c);
  test(`fault matrix: ${row} x ${fault} -> ${promise}`, { skip: skipReason }, async (t) => {
    await fn(t);
    c.passed = true;
  });
}

/** A cell that cannot occur for this dependency; the reason is printed with the matrix. */
export function notApplicable(row: string, fault: FaultColumn, why: string): void {
  cells.push({ row, fault, promise: 'n/a', passed: true, note: why });
}

/** The promises as a markdown table, as docs/failure-modes.md states them. */
export function promisedTable(): string {
  const rows = [...new Set(cells.map((c) => c.row))];
  const out = [
    `| dependency | ${FAULT_KINDS.join(' | ')} |`,
    `| --- | ${FAULT_KINDS.map(() => '---').join(' | ')} |`,
  ];
  for (const row of rows)
    out.push(
      `| ${row} | ${FAULT_KINDS.map((f) => cells.find((c) => c.row === row && c.fault === f)?.promise ?? 'MISSING').join(' | ')} |`,
    );
  return out.join('\n');
}

after(() => {
  const rows = [...new Set(cells.map((c) => c.row))];
  const width = Math.max(...rows.map((r) => r.length), 10);
  const col = 15;
  const lines = [
    '',
    'Fault matrix (promised behaviour; ok = test passed, FAIL = test failed or did not run)',
    ''.padEnd(width) + FAULT_KINDS.map((f) => ` | ${f.padEnd(col)}`).join(''),
  ];
  for (const row of rows) {
    let line = row.padEnd(width);
    for (const f of FAULT_KINDS) {
      const c = cells.find((x) => x.row === row && x.fault === f);
      const text = !c
        ? 'MISSING'
        : c.promise === 'n/a'
          ? 'n/a'
          : `${c.promise} ${c.passed ? 'ok' : 'FAIL'}`;
      line += ` | ${text.padEnd(col)}`;
    }
    lines.push(line);
  }
  const tested = cells.filter((c) => c.promise !== 'n/a');
  const missing = rows.length * FAULT_KINDS.length - cells.length;
  lines.push(
    `cells: ${rows.length * FAULT_KINDS.length}, tested ${tested.length}, met ${tested.filter((c) => c.passed).length}, not met ${tested.filter((c) => !c.passed).length}, n/a ${cells.length - tested.length}, missing ${missing}`,
  );
  for (const c of cells.filter((x) => x.note)) lines.push(`n/a ${c.row} x ${c.fault}: ${c.note}`);
  console.log(lines.join('\n'));
});
