// Release lists of Go: the go.dev download JSON (primary) and the module proxy's golang.org/toolchain
// version list (fallback). Every version string from a source is validated before use.
import { getErrorMessage } from '../errors.ts';
import { request } from '../io/http.ts';
import { parseGoVersion } from './version.ts';

export interface ReleaseList {
  versions: string[];
  source: string;
  rejected: number;
}

const memo = new Map<string, Promise<ReleaseList>>();

/** go.dev JSON: [{"version":"go1.24.5","stable":true,...}]. */
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
  let rejected = 0;
  for (const r of data) {
    const v = (r as { version?: unknown })?.version;
    if (typeof v === 'string' && v.startsWith('go') && parseGoVersion(v)) versions.push(v.slice(2));
    else rejected++;
  }
  if (versions.length === 0) throw new Error(`${source}: no valid Go versions in the list`);
  return { versions, source, rejected };
}

/** Module proxy list for golang.org/toolchain: v0.0.1-go1.24.4.linux-amd64 per line. */
export function parseToolchainList(body: string, source: string): ReleaseList {
  const versions = new Set<string>();
  let rejected = 0;
  for (const line of body.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const m = /^v0\.0\.1-go([0-9a-z.]+)\.[a-z0-9]+-[a-z0-9]+$/.exec(t);
    if (m && parseGoVersion(m[1]!)) versions.add(m[1]!);
    else rejected++;
  }
  if (versions.size === 0) throw new Error(`${source}: no valid toolchain versions in the list`);
  return { versions: [...versions], source, rejected };
}

async function fetchText(url: string, src: ReleaseSources): Promise<string> {
  const res = await request(url, {
    maxBytes: 16 * 1024 * 1024,
    backoffMs: src.retryBackoffMs ?? 500,
    timeoutMs: src.timeoutMs,
    attempts: 3,
  });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return res.body.toString('utf8');
}

export interface ReleaseSources {
  releaseSource: string;
  /** GOPROXY-style list: comma or pipe separated; `direct` and `off` are skipped. */
  goProxy: string;
  retryBackoffMs?: number;
  /** Idle socket timeout per attempt (default 30 s). */
  timeoutMs?: number;
}

/** Tries each source in order; throws one error naming every source tried and why it failed. */
export async function fetchReleases(src: ReleaseSources): Promise<ReleaseList> {
  const attempts: [string, () => Promise<ReleaseList>][] = [];
  if (src.releaseSource)
    attempts.push([
      src.releaseSource,
      async () => parseGoDevJson(await fetchText(src.releaseSource, src), src.releaseSource),
    ]);
  for (const proxy of src.goProxy
    .split(/[,|]/)
    .map((p) => p.trim())
    .filter((p) => p && p !== 'direct' && p !== 'off')) {
    const url = `${proxy.replace(/\/+$/, '')}/golang.org/toolchain/@v/list`;
    attempts.push([url, async () => parseToolchainList(await fetchText(url, src), url)]);
  }
  const failures: string[] = [];
  for (const [url, load] of attempts) {
    let p = memo.get(url);
    if (!p) {
      p = load();
      memo.set(url, p);
      p.catch(() => memo.delete(url));
    }
    try {
      return await p;
    } catch (e) {
      failures.push(getErrorMessage(e));
    }
  }
  throw new Error(`no Go release list could be read: ${failures.join('; ')}`);
}

export function clearReleaseCache(): void {
  memo.clear();
}
