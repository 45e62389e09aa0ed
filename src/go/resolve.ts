// Picks the release to build with: the newest stable patch of the required minor that is not older
// than the requirement. A pre-release qualifies only when the requirement is itself one (go 1.25rc1,
// go-version: 1.25rc1), and then only while the minor has no stable release.
import semver from 'semver';
import { compareGo, parseGoVersion, sameMinor, toSemver, type GoVersion } from './version.ts';

export function newestPatch(
  minimum: GoVersion,
  releases: readonly string[],
): GoVersion | undefined {
  return qualifyingReleases(minimum, releases)[0];
}

/**
 * The releases a build may use for this requirement, newest first: the one rule for go.mod,
 * go.work, GOTOOLCHAIN and the go-version input alike.
 */
export function qualifyingReleases(minimum: GoVersion, releases: readonly string[]): GoVersion[] {
  const candidates = candidatesNewestFirst(minimum, releases);
  const stable = candidates.filter((c) => !c.pre);
  return stable.length > 0 || !minimum.pre ? stable : candidates;
}

/** Every release of the minimum's minor that is >= minimum, newest first, stable before pre. */
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
