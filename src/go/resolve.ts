// Picks the release to build with: the newest stable patch of the required minor that is not older
// than the requirement; pre-releases only when the minor has no stable release yet.
import semver from 'semver';
import { compareGo, parseGoVersion, sameMinor, toSemver, type GoVersion } from './version.ts';

export function newestPatch(
  minimum: GoVersion,
  releases: readonly string[],
): GoVersion | undefined {
  const candidates = candidatesNewestFirst(minimum, releases);
  return candidates.find((v) => !v.pre) ?? candidates[0];
}

/** Every usable release of the minimum's minor that is >= minimum, newest first, stable before pre. */
export function candidatesNewestFirst(
  minimum: GoVersion,
  releases: readonly string[],
): GoVersion[] {
  const seen = new Set<string>();
  const out: GoVersion[] = [];
  for (const r of releases) {
    const v = parseGoVersion(r);
    if (!v || !sameMinor(v, minimum) || compareGo(v, minimum) < 0) continue;
    const key = toSemver(v);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(v);
  }
  out.sort((a, b) => (a.pre ? 1 : 0) - (b.pre ? 1 : 0) || compareGo(b, a));
  return out;
}

/** A semver range from the go-version input (`~1.24`, `>=1.23 <1.25`) matched against releases. */
export function newestInRange(range: string, releases: readonly string[]): GoVersion | undefined {
  let best: GoVersion | undefined;
  for (const r of releases) {
    const v = parseGoVersion(r);
    if (!v || v.pre || v.patch === undefined) continue;
    if (!semver.satisfies(toSemver(v), range)) continue;
    if (!best || compareGo(v, best) > 0) best = v;
  }
  return best;
}
