// The base branch's last size report, kept in the Actions cache: push builds save it, pull-request
// builds restore it (the cache lets a PR read its base branch's entries).
import * as cache from '@actions/cache';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { checkReport } from './fields.ts';
import type { ImageSizeReport } from './measure.ts';

function prefix(name: string, branch: string): string {
  const id = createHash('sha256').update(`${name}\0${branch}`).digest('hex').slice(0, 16);
  return `build-go-image-size-v1-${id}-`;
}

// The same path string in every run: it is part of the cache entry's version.
const REPORT_DIR = path.join(tmpdir(), 'build-go-image-size-report');
function reportPaths(): string[] {
  return [path.join(REPORT_DIR, 'size-report.json')];
}

export async function saveBaseline(
  report: ImageSizeReport,
  name: string,
  branch: string,
  runId: string,
): Promise<boolean> {
  mkdirSync(REPORT_DIR, { recursive: true });
  writeFileSync(reportPaths()[0]!, JSON.stringify(report));
  return (await cache.saveCache(reportPaths(), `${prefix(name, branch)}${runId}`)) !== -1;
}

/**
 * Strictly validated, field by field (src/sizereport/fields.ts): the restored file is untrusted
 * input. Undefined when refused; `problems` receives why, or which fields were dropped.
 */
export function parseReport(text: string, problems: string[] = []): ImageSizeReport | undefined {
  if (text.length > 4 * 1024 * 1024) {
    problems.push('larger than 4 MiB');
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    problems.push('not JSON');
    return undefined;
  }
  const checked = checkReport(value);
  problems.push(...checked.problems);
  return checked.report;
}

export async function loadBaseline(
  name: string,
  branch: string,
  warn: (message: string) => void = () => {},
): Promise<ImageSizeReport | undefined> {
  rmSync(REPORT_DIR, { recursive: true, force: true });
  const p = prefix(name, branch);
  const hit = await cache.restoreCache(reportPaths(), `${p}latest`, [p]);
  if (!hit) return undefined;
  const problems: string[] = [];
  const report = parseReport(readFileSync(reportPaths()[0]!, 'utf8'), problems);
  if (problems.length)
    warn(
      `size report: the saved baseline ${report ? 'had fields dropped' : 'is not used'}: ${problems.join('; ')}`,
    );
  return report;
}
