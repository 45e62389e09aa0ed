#!/usr/bin/env node
// Runs the test suite with Node's own test runner on the Node major that action.yml declares.
// Usage: node scripts/run-tests.js [unit|e2e|<file>...]
// Test files are TypeScript, run directly through Node's type stripping (no build step).
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const declared = /using:\s*['"]?node(\d+)/.exec(
  readFileSync(path.join(root, 'action.yml'), 'utf8'),
);
const wantMajor = declared ? Number(declared[1]) : 24;
const haveMajor = Number(process.versions.node.split('.')[0]);
if (haveMajor !== wantMajor) {
  console.error(
    `tests must run on Node ${wantMajor} (action.yml runs.using), this is Node ${process.versions.node}. ` +
      'Run them through npm (npm test), which puts the node package from devDependencies first on PATH.',
  );
  process.exit(1);
}

function testFiles(dir) {
  const abs = path.join(root, dir);
  let out = [];
  for (const name of readdirSync(abs).sort()) {
    const p = path.join(abs, name);
    if (statSync(p).isDirectory()) out = out.concat(testFiles(path.join(dir, name)));
    else if (name.endsWith('.test.ts')) out.push(path.join(dir, name));
  }
  return out;
}

const args = process.argv.slice(2);
let files;
if (args.length === 0) files = [...testFiles('__tests__/unit'), ...testFiles('__tests__/e2e')];
else if (args.length === 1 && (args[0] === 'unit' || args[0] === 'e2e'))
  files = testFiles(`__tests__/${args[0]}`);
else files = args;

// One file at a time: the end-to-end files share one Docker engine and one registry.
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: process.env },
);
process.exit(result.status ?? 1);
