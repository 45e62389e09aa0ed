// Whether the build ran a step that mounts a cache, from BuildKit's plain log (both engines' logs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { cachedStepCount, cacheMountStepsRan } from '../../src/buildx/cache-steps.ts';

const ENGINES = path.resolve(import.meta.dirname, '..', 'fixtures', 'engines');

for (const engine of readdirSync(ENGINES)) {
  test(`${engine}: a build whose cache-mount steps ran says so`, () => {
    const log = readFileSync(path.join(ENGINES, engine, 'build-push.txt'), 'utf8');
    assert.match(log, /RUN --mount=type=cache/);
    assert.equal(cacheMountStepsRan(log), true);
    // The fixture's two RUN steps ran; its FROM steps (the base image in the builder) are not counted.
    assert.deepEqual(cachedStepCount(log), { cached: 0, steps: 2 });
  });
}

test('steps from cache: CACHED steps of all, FROM left out, each step once however often named', () => {
  const log = [
    '#1 [internal] load build definition from Dockerfile',
    '#1 DONE 0.0s',
    '#5 [linux/amd64 build 1/4] FROM localhost:5000/library/golang:1.24',
    '#5 CACHED',
    '#6 [linux/amd64 build 2/4] COPY go.mod go.sum ./',
    '#6 CACHED',
    '#7 [linux/amd64 build 3/4] RUN go mod download',
    '#7 CACHED',
    header(9, 'linux/amd64', GO_BUILD),
    '#9 0.3 compiling',
    header(9, 'linux/amd64', GO_BUILD),
    '#9 DONE 2.0s',
    '#11 [linux/arm64 stage-1 1/1] COPY --from=build /out/arm64/server /server',
    '#11 DONE 0.1s',
    '#12 exporting to image',
    '#12 DONE 0.4s',
  ].join('\n');
  assert.deepEqual(cachedStepCount(log), { cached: 2, steps: 4 });
  assert.equal(cachedStepCount('#1 [internal] load .dockerignore\n#1 DONE 0.0s'), undefined);
});

const header = (id: number, platform: string, run: string) =>
  `#${id} [${platform} build 4/4] RUN ${run}`;
const GO_BUILD =
  '--mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod go build ./...';

test('all cache-mount steps CACHED (both platforms): false', () => {
  const log = [
    '#5 [linux/amd64 build 1/4] FROM localhost:5000/library/golang:1.24',
    '#5 DONE 0.0s',
    header(9, 'linux/amd64', GO_BUILD),
    '#9 CACHED',
    header(10, 'linux/arm64', GO_BUILD),
    '#10 CACHED',
    '#11 [linux/amd64 stage-1 1/1] COPY --from=build /out/server /server',
    '#11 DONE 0.1s',
  ].join('\n');
  assert.equal(cacheMountStepsRan(log), false);
});

test('one platform ran its step: true, whatever the other did', () => {
  const log = [
    header(9, 'linux/amd64', GO_BUILD),
    '#9 CACHED',
    header(10, 'linux/arm64', GO_BUILD),
    '#10 0.512 compiling',
    header(10, 'linux/arm64', GO_BUILD),
    '#10 DONE 3.4s',
  ].join('\n');
  assert.equal(cacheMountStepsRan(log), true);
});

test('a step that failed ran too; the mount may sit anywhere in the flags', () => {
  const log = [
    header(3, 'linux/amd64', '--mount=target=/c,type=cache,id=x make'),
    '#3 ERROR: exit code 2',
  ];
  assert.equal(cacheMountStepsRan(log.join('\n')), true);
});

test('no step with a cache mount, or one that never ended, tells nothing', () => {
  assert.equal(cacheMountStepsRan(''), undefined);
  assert.equal(
    cacheMountStepsRan(
      [header(3, 'linux/amd64', '--mount=type=bind,target=. go vet'), '#3 CACHED'].join('\n'),
    ),
    undefined,
  );
  // A secret mount named "cache" is not a cache mount.
  assert.equal(
    cacheMountStepsRan(
      [header(3, 'linux/amd64', '--mount=type=secret,id=cache make'), '#3 DONE 1.0s'].join('\n'),
    ),
    undefined,
  );
  assert.equal(cacheMountStepsRan([header(3, 'linux/amd64', GO_BUILD)].join('\n')), undefined);
  // Step #1 CACHED must not be read as step #12's end.
  assert.equal(
    cacheMountStepsRan(
      [header(12, 'linux/amd64', GO_BUILD), '#1 CACHED', '#12 DONE 2.0s'].join('\n'),
    ),
    true,
  );
});
