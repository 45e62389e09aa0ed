// What a saved state may hold: the store's pruning and size cap, carried out in the builder by the
// extract helper build (transport/helper-dockerfile.ts) before the archive is written, and checked
// again against cache-size-limit when it is saved (index.ts saveState).

/**
 * Go refreshes a build-cache entry's mtime when it uses it and the mtime is more than an hour old,
 * so an entry older than the build's start minus an hour (and a margin of five minutes) was
 * certainly not used by this build.
 */
const UNUSED_AFTER_MINUTES = 65;

/** tar adds a header per entry: the content is cut to this share of the limit to leave room. */
const CONTENT_SHARE_OF_LIMIT = 0.95;

export interface PruneRule {
  /** Go build cache: entries not used for this many minutes are removed. */
  pruneOlderThanMinutes: number;
  /** Go build cache: the oldest entries go until the content fits in this many bytes. */
  capBytes: number;
}

/** The rule for a save now, after a build that started at `buildStartedAt` (epoch ms). */
export function pruneRule(
  opts: { buildStartedAt: number; sizeLimitBytes: number },
  now = Date.now(),
): PruneRule {
  const minutesSinceStart = (now - opts.buildStartedAt) / 60000;
  return {
    pruneOlderThanMinutes: minutesSinceStart + UNUSED_AFTER_MINUTES,
    capBytes: Math.floor(opts.sizeLimitBytes * CONTENT_SHARE_OF_LIMIT),
  };
}
