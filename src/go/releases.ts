// Release lists of Go: the go.dev download JSON (primary) and the module proxy's golang.org/toolchain
// version list (fallback). Every entry from a source is validated before use; what is dropped, and
// a fall back to a later source, is told in one notice line with counts.
import { getErrorMessage } from '../errors.ts';
import { request } from '../io/http.ts';
import type { HttpUrl } from '../io/url.ts';
import { parseGoProxy, parseReleaseSource } from './sources.ts';
import { parseGoVersion } from './version.ts';

export interface ReleaseList {
  /** Release names without "go" (1.24.5, 1.25rc1); a pre-release is known by its name alone. */
  versions: string[];
  /** The URL the list came from, without credentials. */
  source: string;
  /** Entries dropped, in all. */
  rejected: number;
  /** Why entries were dropped: reason -> count. */
  dropped: Record<string, number>;
  /** One line for the log when entries were dropped or an earlier source failed. */
  notice?: string;
}

const memo = new Map<string, Promise<ReleaseList>>();

function drop(dropped: Record<string, number>, why: string): void {
  dropped[why] = (dropped[why] ?? 0) + 1;
}

function listOf(versions: string[], source: string, dropped: Record<string, number>): ReleaseList {
  const rejected = Object.values(dropped).reduce((a, b) => a + b, 0);
  return { versions, source, rejected, dropped };
}

/**
 * go.dev JSON: [{"version":"go1.24.5","stable":true,...}]. The name decides what a release is; an
 * entry whose `stable` flag contradicts its name (go1.24.9 marked unstable, an rc marked stable)
 * is dropped, so an unstable build can never pass for the newest patch.
 */
export function parseGoDevJson(body: string, source: string): ReleaseList {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    throw new Error(
      `${source}: not a JSON release list (${body.slice(0, 60).replace(/\s+/g, ' ')}...)`,
    );
  }
  if (!Array.isArray(data)) throw new Error(`${source}: expected a JSON array of releases`);
  const versions: string[] = [];
  const dropped: Record<string, number> = {};
  for (const r of data) {
    const entry = (typeof r === 'object' && r !== null ? r : {}) as {
      version?: unknown;
      stable?: unknown;
    };
    const v = entry.version;
    const parsed = typeof v === 'string' && v.startsWith('go') ? parseGoVersion(v) : undefined;
    if (!parsed) {
      drop(dropped, 'malformed');
      continue;
    }
    if (entry.stable !== undefined && entry.stable !== !parsed.pre) {
      drop(
        dropped,
        typeof entry.stable === 'boolean' ? 'stable flag contradicts the name' : 'malformed',
      );
      continue;
    }
    versions.push((v as string).slice(2));
  }
  if (versions.length === 0) throw new Error(`${source}: no valid Go versions in the list`);
  return listOf(versions, source, dropped);
}

/** Module proxy list for golang.org/toolchain: v0.0.1-go1.24.4.linux-amd64 per line. */
export function parseToolchainList(body: string, source: string): ReleaseList {
  const versions = new Set<string>();
  const dropped: Record<string, number> = {};
  for (const line of body.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const m = /^v0\.0\.1-go([0-9a-z.]+)\.[a-z0-9]+-[a-z0-9]+$/.exec(t);
    if (m && parseGoVersion(m[1]!)) versions.add(m[1]!);
    else drop(dropped, 'malformed');
  }
  if (versions.size === 0) throw new Error(`${source}: no valid toolchain versions in the list`);
  return listOf([...versions], source, dropped);
}

/** Default time for one source, all attempts together, before the next source is tried. */
export const SOURCE_DEADLINE_MS = 60_000;

async function fetchText(from: HttpUrl, src: ReleaseSources): Promise<string> {
  const res = await request(from.url, {
    credentials: from.credentials,
    maxBytes: 16 * 1024 * 1024,
    backoffMs: src.retryBackoffMs ?? 500,
    timeoutMs: src.timeoutMs,
    deadlineMs: src.deadlineMs ?? SOURCE_DEADLINE_MS,
    attempts: 3,
  });
  if (res.status !== 200) throw new Error(`${from.url}: HTTP ${res.status}`);
  return res.body.toString('utf8');
}

export interface ReleaseSources {
  /** The go.dev JSON URL; empty skips it. */
  releaseSource: string;
  /** GOPROXY-style list: comma or pipe separated; `direct` and `off` are skipped. */
  goProxy: string;
  /** What go-proxy's value came from, for errors (the input, or GOPROXY in the environment). */
  goProxyInput?: string;
  retryBackoffMs?: number;
  /** Idle socket timeout per attempt (default 30 s). */
  timeoutMs?: number;
  /** Time for each source in all, attempts included (default 60 s); then the next source. */
  deadlineMs?: number;
}

function describeDropped(list: ReleaseList): string {
  const why = Object.entries(list.dropped)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
  return `${list.rejected} of ${list.rejected + list.versions.length} entries dropped (${why})`;
}

/** Tries each source in order; throws one error naming every source tried and why it failed. */
export async function fetchReleases(src: ReleaseSources): Promise<ReleaseList> {
  const attempts: [string, string, () => Promise<ReleaseList>][] = [];
  if (src.releaseSource.trim()) {
    const from = parseReleaseSource(src.releaseSource);
    attempts.push([
      src.releaseSource,
      from.url,
      async () => parseGoDevJson(await fetchText(from, src), from.url),
    ]);
  }
  for (const proxy of parseGoProxy(src.goProxy, src.goProxyInput)) {
    const list = new URL(proxy.url);
    list.pathname = `${list.pathname.replace(/\/+$/, '')}/golang.org/toolchain/@v/list`;
    const from = { url: list.href, credentials: proxy.credentials };
    const key = JSON.stringify([from.url, proxy.credentials]);
    attempts.push([
      key,
      from.url,
      async () => parseToolchainList(await fetchText(from, src), from.url),
    ]);
  }
  const failures: string[] = [];
  for (const [key, shown, load] of attempts) {
    let p = memo.get(key);
    if (!p) {
      p = load();
      memo.set(key, p);
      p.catch(() => memo.delete(key));
    }
    let list: ReleaseList;
    try {
      list = await p;
    } catch (e) {
      const why = getErrorMessage(e);
      failures.push(why.startsWith(shown) ? why : `${shown}: ${why}`);
      continue;
    }
    const parts: string[] = [];
    if (list.rejected > 0) parts.push(describeDropped(list));
    if (failures.length > 0) parts.push(`used this list because ${failures.join('; ')}`);
    return parts.length > 0
      ? { ...list, notice: `go release list from ${list.source}: ${parts.join('; ')}` }
      : list;
  }
  if (attempts.length === 0)
    throw new Error(
      'no Go release list source: go-release-source is empty and go-proxy names no URL',
    );
  throw new Error(`no Go release list could be read: ${failures.join('; ')}`);
}

export function clearReleaseCache(): void {
  memo.clear();
}
