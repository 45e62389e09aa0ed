import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
// @ts-expect-error: a plain-JS script without type declarations
import { readActionYml, renderTables } from '../../scripts/inputs-table.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const action = readFileSync(path.join(root, 'action.yml'), 'utf8');

test('README holds the inputs and outputs tables of action.yml', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  assert.ok(
    readme.includes(renderTables(readActionYml(action))),
    'run: node scripts/inputs-table.js --write',
  );
});

test('every input the code reads is declared in action.yml, and every declared input is read', () => {
  const declared = new Set<string>(
    readActionYml(action).inputs.map((i: { name: string }) => i.name),
  );
  const source = readFileSync(path.join(root, 'src', 'inputs.ts'), 'utf8');
  const read = new Set(
    [...source.matchAll(/get\('([a-z-]+)'\)|bool\('([a-z-]+)'/g)].map((m) => m[1] ?? m[2]),
  );
  assert.deepEqual(
    [...read].filter((n) => !declared.has(n!)),
    [],
  );
  assert.deepEqual(
    [...declared].filter((n) => !read.has(n)),
    [],
  );
});

test('action.yml runs on node24 with main and post', () => {
  assert.match(action, /using: node24/);
  assert.match(action, /main: dist\/index\.js/);
  assert.match(action, /post: dist\/index\.js/);
});
