#!/usr/bin/env bash
# Fails when dist/ is not what `npm run bundle` makes of the current sources.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run bundle >/tmp/bundle.log 2>&1 || {
  cat /tmp/bundle.log
  exit 1
}
if ! git diff --quiet -- dist; then
  echo "dist/ differs from a fresh bundle of src/: run 'npm run bundle' and commit dist/" >&2
  git diff --stat -- dist >&2
  exit 1
fi
echo "dist/ matches a fresh bundle"
