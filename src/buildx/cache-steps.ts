// Whether a build ran any step that mounts a cache, read from BuildKit's plain progress log. When
// every such step was CACHED, the mounts are as they were restored (not even Go's access-time
// refreshes happened), so post has nothing to take out of the builder or to save.
//
// The plain log names each step once per platform, `#7 [linux/amd64 build 4/4] RUN
// --mount=type=cache,... go build`, and ends it with `#7 CACHED`, `#7 DONE 3.2s` or `#7 ERROR`.

const STEP_HEADER = /^#(\d+) \[[^\]]*\] RUN (.*)$/gm;
const CACHE_MOUNT = /--mount=(?:\S*,)?type=cache(?:,|\s|$)/;

/**
 * true: some step with a cache mount ran; false: there were such steps and all were CACHED;
 * undefined: the log does not tell (no such step in it, or a step that never ended).
 */
export function cacheMountStepsRan(log: string): boolean | undefined {
  const steps = new Set<string>();
  for (const m of log.matchAll(STEP_HEADER)) if (CACHE_MOUNT.test(m[2]!)) steps.add(m[1]!);
  if (steps.size === 0) return undefined;
  let unknown = false;
  for (const id of steps) {
    if (new RegExp(`^#${id} CACHED$`, 'm').test(log)) continue;
    if (new RegExp(`^#${id} (?:DONE|ERROR|CANCELED)\\b`, 'm').test(log)) return true;
    unknown = true;
  }
  return unknown ? undefined : false;
}

/** A Dockerfile step's header, `#7 [linux/amd64 build 4/4] RUN ...`, and its instruction. */
const DOCKERFILE_STEP = /^#(\d+) \[[^\]]*\b\d+\/\d+\] ([A-Z]+)\b/gm;

/**
 * How many of the build's Dockerfile steps BuildKit took from a cache (its own, or the imported
 * layer cache) of all it printed, one per platform where it built them per platform. FROM is not
 * counted: a base image already in the builder prints CACHED without any step being saved.
 * Undefined when the log names no step.
 */
export function cachedStepCount(log: string): { cached: number; steps: number } | undefined {
  const steps = new Set<string>();
  for (const m of log.matchAll(DOCKERFILE_STEP)) if (m[2] !== 'FROM') steps.add(m[1]!);
  if (steps.size === 0) return undefined;
  let cached = 0;
  for (const id of steps) if (new RegExp(`^#${id} CACHED$`, 'm').test(log)) cached++;
  return { cached, steps: steps.size };
}
