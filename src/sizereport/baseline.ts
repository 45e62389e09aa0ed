// The base branch's last size report, kept in the Actions cache: push builds save it, pull-request
// builds restore it (the cache lets a PR read its base branch's entries).
import * as cache from '@actions/cache';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
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

/** Strictly validated: the restored file is untrusted input. */
export function parseReport(text: string): ImageSizeReport | undefined {
  if (text.length > 4 * 1024 * 1024) return undefined;
  const r = JSON.parse(text) as ImageSizeReport;
  if (r?.schema !== 1 || !Array.isArray(r.platforms)) return undefined;
  for (const p of r.platforms) {
    if (
      typeof p.platform !== 'string' ||
      typeof p.compressed !== 'number' ||
      !Array.isArray(p.layers)
    )
      return undefined;
    for (const l of p.layers)
      if (typeof l.size !== 'number' || typeof l.instruction !== 'string') return undefined;
  }
  return r;
}

export async function loadBaseline(
  name: string,
  branch: string,
): Promise<ImageSizeReport | undefined> {
  rmSync(REPORT_DIR, { recursive: true, force: true });
  const p = prefix(name, branch);
  const hit = await cache.restoreCache(reportPaths(), `${p}latest`, [p]);
  if (!hit) return undefined;
  return parseReport(readFileSync(reportPaths()[0]!, 'utf8'));
}
