// The reference service (examples/go-service) as the end-to-end tests build it, and what its build
// log says about which packages the Go compiler compiled.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './run-action.ts';

/** A copy of the service whose build names every package it compiles (GOFLAGS=-v). */
export function serviceCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-svc-'));
  cpSync(path.join(ROOT, 'examples', 'go-service'), dir, { recursive: true });
  // GOFLAGS=-v makes go build name every package it compiles (not those served from GOCACHE).
  const df = path.join(dir, 'Dockerfile');
  writeFileSync(
    df,
    readFileSync(df, 'utf8').replace(
      'ARG TARGETOS TARGETARCH',
      'ARG TARGETOS TARGETARCH\nARG GOFLAGS=-v',
    ),
  );
  return dir;
}

/** Changes one line of one package (internal/store), as a developer's commit would. */
export function changeOneLine(service: string): void {
  const store = path.join(service, 'internal', 'store', 'store.go');
  writeFileSync(
    store,
    readFileSync(store, 'utf8').replace(
      /note not found|no such note \(\d+\)/,
      `no such note (${Date.now()})`,
    ),
  );
}

/** Packages `go build -v` compiled in this build's log, per platform-tagged build step. */
export function compiledPackages(log: string): Set<string> {
  const out = new Set<string>();
  for (const m of log.matchAll(
    /^#\d+ [\d.]+ ((?:example\.com\/go-service|net|crypto|encoding)(?:\/[\w.-]+)*)$/gm,
  ))
    out.add(m[1]!);
  return out;
}

/**
 * Action inputs that build a copy of the service for both platforms and push it as <repo>:v1, with
 * the test registry's base images and busybox as the cache helper, and no comment.
 */
export function pushBothPlatformsInputs(
  engine: { baseRegistry: string },
  service: string,
  repo: string,
  more: Record<string, string> = {},
): Record<string, string> {
  return {
    context: service,
    platforms: 'linux/amd64,linux/arm64',
    tags: `${repo}:v1`,
    push: 'true',
    'build-args': `BASE_REGISTRY=${engine.baseRegistry}`,
    'cache-helper-image': `${engine.baseRegistry}/busybox:1.37.0`,
    'github-token': '',
    comment: 'false',
    ...more,
  };
}
