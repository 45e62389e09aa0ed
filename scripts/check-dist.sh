#!/usr/bin/env bash
# Fails when dist/ is not what `npm run bundle` makes of the current sources.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run bundle >/tmp/bundle.log 2>&1 || {
  cat /tmp/bundle.log
  exit 1
}
# A file the bundle newly emits (ncc copies assets such as dist/cli/action.yml) is untracked, not a diff.
if ! git diff --quiet -- dist || [ -n "$(git ls-files --others --exclude-standard -- dist)" ]; then
  echo "dist/ differs from a fresh bundle of src/: run 'npm run bundle' and commit dist/" >&2
  git status --short -- dist >&2
  exit 1
fi
echo "dist/ matches a fresh bundle"
