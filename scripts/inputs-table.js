#!/usr/bin/env node
// Prints the README's inputs/outputs tables from action.yml, or with --check fails when README.md
// does not hold exactly them. action.yml is read with a small purpose-built reader: it uses only
// two-level maps with scalar or folded values.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

export function readActionYml(text) {
  const sections = { inputs: [], outputs: [] };
  let section;
  let current;
  let folding = false;
  for (const raw of text.split('\n')) {
    if (/^\S/.test(raw)) {
      section = /^(inputs|outputs):\s*$/.exec(raw)?.[1];
      current = undefined;
      continue;
    }
    if (!section || /^\s*#/.test(raw) || raw.trim() === '') continue;
    const name = /^ {2}([a-z][a-z0-9-]*):\s*$/.exec(raw);
    if (name) {
      current = { name: name[1], description: '', default: '' };
      sections[section].push(current);
      folding = false;
      continue;
    }
    const field = /^ {4}(description|default):\s*(.*)$/.exec(raw);
    if (field && current) {
      folding = field[2] === '>-' || field[2] === '>' || field[2] === '|';
      current[field[1]] = folding ? '' : field[2].replace(/^'(.*)'$/, '$1');
      continue;
    }
    if (folding && current && /^ {6}/.test(raw))
      current.description = `${current.description} ${raw.trim()}`.trim();
  }
  return sections;
}

export function renderTables(sections) {
  const esc = (s) => s.replace(/\|/g, '\\|');
  const lines = ['### Inputs', '', '| Input | Default | Description |', '|---|---|---|'];
  for (const i of sections.inputs)
    lines.push(
      `| \`${i.name}\` | ${i.default ? `\`${esc(i.default)}\`` : ''} | ${esc(i.description)} |`,
    );
  lines.push('', '### Outputs', '', '| Output | Description |', '|---|---|');
  for (const o of sections.outputs) lines.push(`| \`${o.name}\` | ${esc(o.description)} |`);
  return lines.join('\n');
}

const START = '<!-- inputs-table:start -->';
const END = '<!-- inputs-table:end -->';

if (import.meta.url === `file://${process.argv[1]}`) {
  const tables = renderTables(readActionYml(readFileSync(path.join(root, 'action.yml'), 'utf8')));
  const readmePath = path.join(root, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const want = `${readme.slice(0, readme.indexOf(START) + START.length)}\n${tables}\n${readme.slice(readme.indexOf(END))}`;
  if (process.argv.includes('--check')) {
    if (want !== readme) {
      console.error(
        'README.md inputs/outputs tables differ from action.yml: run node scripts/inputs-table.js --write',
      );
      process.exit(1);
    }
  } else if (process.argv.includes('--write')) writeFileSync(readmePath, want);
  else console.log(tables);
}
