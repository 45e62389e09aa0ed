// Size budgets: growth limits (absolute or percent) and an absolute maximum per platform.
import { InputError } from '../errors.ts';
import type { Inputs } from '../inputs.ts';
import type { SizeDiff } from './diff.ts';

export type Limit = { kind: 'bytes'; value: number } | { kind: 'percent'; value: number };

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

export function parseLimit(input: string, value: string, allowPercent = true): Limit | undefined {
  const v = value.trim();
  if (!v) return undefined;
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(v);
  if (pct) {
    if (!allowPercent)
      throw new InputError(input, `"${v}" must be a size such as 50MiB, not a percentage`);
    return { kind: 'percent', value: Number(pct[1]) };
  }
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v);
  const unit = (m?.[2] || 'b').toLowerCase();
  if (!m || UNITS[unit] === undefined)
    throw new InputError(input, `"${v}" is not a size: use e.g. 10%, 5MiB, 500KB or bytes`);
  return { kind: 'bytes', value: Number(m[1]) * UNITS[unit]! };
}

export interface Budgets {
  warn?: Limit;
  fail?: Limit;
  max?: Limit;
}

/** The three budget inputs, read before any work so a bad value fails fast. */
export function readBudgets(inputs: Pick<Inputs, 'sizeWarn' | 'sizeFail' | 'sizeMax'>): Budgets {
  return {
    warn: parseLimit('size-warn', inputs.sizeWarn),
    fail: parseLimit('size-fail', inputs.sizeFail),
    max: parseLimit('size-max', inputs.sizeMax, false),
  };
}

export interface BudgetVerdict {
  level: 'ok' | 'warning' | 'failure';
  messages: string[];
}

function crosses(limit: Limit, base: number, head: number): boolean {
  const growth = head - base;
  return limit.kind === 'bytes'
    ? growth > limit.value
    : base > 0 && (growth / base) * 100 > limit.value;
}

export function describe(limit: Limit): string {
  return limit.kind === 'percent' ? `${limit.value}%` : `${limit.value} bytes`;
}

export function evaluateBudgets(diff: SizeDiff, b: Budgets): BudgetVerdict {
  const messages: string[] = [];
  let level: BudgetVerdict['level'] = 'ok';
  for (const p of diff.platforms) {
    if (p.head === undefined) continue;
    if (b.max && p.head > b.max.value) {
      messages.push(`${p.platform}: ${p.head} bytes is over size-max (${describe(b.max)})`);
      level = 'failure';
    }
    if (p.base === undefined) continue;
    if (b.fail && crosses(b.fail, p.base, p.head)) {
      messages.push(`${p.platform}: grew past size-fail (${describe(b.fail)})`);
      level = 'failure';
    } else if (b.warn && crosses(b.warn, p.base, p.head)) {
      messages.push(`${p.platform}: grew past size-warn (${describe(b.warn)})`);
      if (level === 'ok') level = 'warning';
    }
  }
  return { level, messages };
}
