// The command line's options come from action.yml's inputs: names, descriptions, defaults and the
// group each sits in (its `# --- <group>: ... ---` heading). Adding an input to action.yml adds the
// option; there is no second list to keep in step.
import { readFileSync } from 'node:fs';

/** The groups of `--help`, in its order; a heading in action.yml starts with one of these words. */
export const GROUPS = [
  { id: 'build', title: 'Build', heading: /^build\b/ },
  { id: 'go', title: 'Go', heading: /^Go\b/ },
  { id: 'cache', title: 'Cache mounts', heading: /^cache\b/ },
  { id: 'size', title: 'Size report', heading: /^size report\b/ },
  { id: 'scale-out', title: 'Scale-out', heading: /^scale[- ]out\b/ },
] as const;

export type GroupId = (typeof GROUPS)[number]['id'];

export interface ActionInput {
  name: string;
  description: string;
  /** As written in action.yml ('' for none); may be a `${{ }}` expression. */
  default: string;
  /** From the heading above the input; undefined when it names no known group. */
  group: GroupId | undefined;
}

/**
 * Reads the inputs of action.yml. The file uses two-level maps with plain, quoted or folded
 * (`>-`) scalars only, so a small reader does; the docs-workflows test parses the same file with a
 * full YAML parser and compares.
 */
export function readActionInputs(text: string): ActionInput[] {
  const inputs: ActionInput[] = [];
  let inInputs = false;
  let group: GroupId | undefined;
  let current: ActionInput | undefined;
  let folding: 'description' | 'default' | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\S/.test(raw)) {
      inInputs = /^inputs:\s*$/.test(raw);
      current = undefined;
      continue;
    }
    if (!inInputs || raw.trim() === '') continue;
    const heading = /^ {2}# -+ (.*?) -+\s*$/.exec(raw);
    if (heading) {
      group = GROUPS.find((g) => g.heading.test(heading[1]!))?.id;
      continue;
    }
    if (/^\s*#/.test(raw)) continue;
    const name = /^ {2}([a-z][a-z0-9-]*):\s*$/.exec(raw);
    if (name) {
      current = { name: name[1]!, description: '', default: '', group };
      inputs.push(current);
      folding = undefined;
      continue;
    }
    const field = /^ {4}(description|default):\s*(.*)$/.exec(raw);
    if (field && current) {
      const key = field[1] as 'description' | 'default';
      const value = field[2]!.trim();
      folding = /^[>|][-+]?$/.test(value) ? key : undefined;
      current[key] = folding ? '' : unquote(value);
      continue;
    }
    if (folding && current && /^ {6}/.test(raw))
      current[folding] = `${current[folding]} ${raw.trim()}`.trim();
  }
  return inputs;
}

function unquote(v: string): string {
  if (/^'.*'$/.test(v)) return v.slice(1, -1).replace(/''/g, "'");
  if (/^".*"$/.test(v)) return JSON.parse(v) as string;
  return v;
}

/**
 * action.yml as shipped: next to the sources (src/cli/ -> ../../action.yml), and in the bundle
 * ncc copies it beside dist/cli/index.js (it follows `new URL(..., import.meta.url)`).
 */
export function loadActionInputs(): ActionInput[] {
  return readActionInputs(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8'));
}
