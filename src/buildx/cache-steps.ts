// Whether a build ran any step that mounts a cache, read from BuildKit's plain progress log. When
// every such step was CACHED, the mounts are as they were restored (not even Go's access-time
// refreshes happened), so post has nothing to take out of the builder or to save.
//
// The plain log names each step once per platform, `#7 [linux/amd64 build 4/4] RUN
// --mount=type=cache,... go build`, and ends it with `#7 CACHED`, `#7 DONE 3.2s` or `#7 ERROR`.

// One pass over the log's lines: each step's headers and how it ended.
const HEADER = /^#(\d+) \[([^\]]*)\] (.*)$/;
const END = /^#(\d+) (CACHED$|(?:DONE|ERROR|CANCELED)\b)/;
const CACHE_MOUNT = /--mount=(?:\S*,)?type=cache(?:,|\s|$)/;

interface Step {
  /** The step's instruction as its header(s) give it: `RUN --mount=... go build`. */
  text: string;
  /** Whether the bracket names a Dockerfile step (`build 4/4`), not an internal one. */
  dockerfile: boolean;
  cached: boolean;
  /** DONE, ERROR or CANCELED: the step ran. */
  ran: boolean;
}

function stepsOf(log: string): Map<string, Step> {
  const steps = new Map<string, Step>();
  for (const line of log.split('\n')) {
    const h = HEADER.exec(line);
    if (h) {
      if (!steps.has(h[1]!))
        steps.set(h[1]!, {
          text: h[3]!,
          dockerfile: /\b\d+\/\d+$/.test(h[2]!),
          cached: false,
          ran: false,
        });
      continue;
    }
    const e = END.exec(line);
    const step = e && steps.get(e[1]!);
    if (!step) continue;
    if (e[2] === 'CACHED') step.cached = true;
    else step.ran = true;
  }
  return steps;
}

/**
 * true: some step with a cache mount ran; false: there were such steps and all were CACHED;
 * undefined: the log does not tell (no such step in it, or a step that never ended).
 */
export function cacheMountStepsRan(log: string): boolean | undefined {
  const mounting = [...stepsOf(log).values()].filter(
    (s) => s.text.startsWith('RUN ') && CACHE_MOUNT.test(s.text),
  );
  if (mounting.length === 0) return undefined;
  if (mounting.some((s) => !s.cached && s.ran)) return true;
  return mounting.every((s) => s.cached) ? false : undefined;
}

/**
 * How many of the build's Dockerfile steps BuildKit took from a cache (its own, or the imported
 * layer cache) of all it printed, one per platform where it built them per platform. FROM is not
 * counted: a base image already in the builder prints CACHED without any step being saved.
 * Undefined when the log names no step.
 */
export function cachedStepCount(log: string): { cached: number; steps: number } | undefined {
  const counted = [...stepsOf(log).values()].filter(
    (s) => s.dockerfile && /^[A-Z]+\b/.test(s.text) && !/^FROM\b/.test(s.text),
  );
  if (counted.length === 0) return undefined;
  return { cached: counted.filter((s) => s.cached).length, steps: counted.length };
}
