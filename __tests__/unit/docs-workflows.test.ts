// The workflows in README.md and docs/ are what users copy: each YAML block must parse, use only
// inputs action.yml declares, read only outputs it declares, and name one release of the action.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
// @ts-expect-error: a plain-JS script without type declarations
import { readActionYml } from '../../scripts/inputs-table.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const action = readActionYml(readFileSync(path.join(root, 'action.yml'), 'utf8')) as {
  inputs: { name: string }[];
  outputs: { name: string }[];
};
const inputs = new Set(action.inputs.map((i) => i.name));
const outputs = new Set(action.outputs.map((o) => o.name));
const USES = /^build-go-image\/build-go-image@(\S+)$/;

interface Block {
  where: string;
  text: string;
}

function yamlBlocks(): Block[] {
  const files = ['README.md', ...readdirSync(path.join(root, 'docs')).map((f) => `docs/${f}`)];
  return files
    .filter((f) => f.endsWith('.md'))
    .flatMap((f) => {
      const text = readFileSync(path.join(root, f), 'utf8');
      return [...text.matchAll(/^```ya?ml\n([\s\S]*?)^```/gm)].map((m) => ({
        where: `${f}:${text.slice(0, m.index).split('\n').length}`,
        text: m[1]!,
      }));
    });
}

/** Every step object that uses this action, anywhere in a parsed document. */
function actionSteps(node: unknown, found: Record<string, unknown>[] = []) {
  if (Array.isArray(node)) for (const n of node) actionSteps(n, found);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (typeof o['uses'] === 'string' && USES.test(o['uses'])) found.push(o);
    for (const v of Object.values(o)) actionSteps(v, found);
  }
  return found;
}

test('the workflows in README.md and docs/ parse and use only declared inputs and outputs', () => {
  const blocks = yamlBlocks();
  const refs = new Set<string>();
  let steps = 0;
  for (const b of blocks) {
    for (const doc of parseAllDocuments(b.text)) {
      assert.deepEqual(
        doc.errors.map((e) => e.message),
        [],
        `${b.where}: the YAML does not parse`,
      );
      for (const step of actionSteps(doc.toJS())) {
        steps++;
        refs.add(USES.exec(step['uses'] as string)![1]!);
        const given = Object.keys((step['with'] as Record<string, unknown> | undefined) ?? {});
        assert.deepEqual(
          given.filter((k) => !inputs.has(k)),
          [],
          `${b.where}: inputs action.yml does not declare`,
        );
        const id = step['id'];
        if (typeof id !== 'string') continue;
        const read = [...b.text.matchAll(new RegExp(`steps\\.${id}\\.outputs\\.([\\w-]+)`, 'g'))];
        assert.deepEqual(
          read.map((m) => m[1]!).filter((o) => !outputs.has(o)),
          [],
          `${b.where}: outputs action.yml does not declare`,
        );
      }
    }
  }
  // The docs show every mode; a count this low means blocks were not found at all.
  assert.ok(steps >= 8, `only ${steps} uses of the action found in ${blocks.length} YAML blocks`);
  assert.equal(refs.size, 1, `one release named throughout: ${[...refs].join(', ')}`);
});
