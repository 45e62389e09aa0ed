// Outside text (image names, platforms, Go versions, layer instructions, registry answers, saved
// reports) rendered into the PR comment and the job summary. One function makes any such text inert
// where it lands: a table cell, inline text, or the inside of an HTML element. A crafted value must
// not add a table column, a line, a link, emphasis, an HTML comment (a second image's marker), or
// a mention that notifies a user or team.

/** U+2060 WORD JOINER: invisible, and a mention or reference needs its sign right before the name. */
const JOINER = '\u2060';

/** At most this many characters of one value are shown (the comment has a size limit). */
export const MAX_CELL = 200;

/**
 * `s` as literal text for markdown: control characters and line breaks become spaces, `& < >` are
 * entities, markdown punctuation is backslash-escaped (`|` included, so a table keeps its columns),
 * `@name` and `#123` get an invisible joiner so GitHub links no user, team or issue. Long values are
 * cut to `max` characters with an ellipsis.
 */
export function mdText(s: string, max = MAX_CELL): string {
  // eslint-disable-next-line no-control-regex
  let t = String(s).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  if (t.length > max) t = `${t.slice(0, max - 1)}…`;
  return t
    .replace(/[\\`*_[\]#|~]/g, (c) => `\\${c}`)
    .replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!)
    .replace(/([@#])(?=[A-Za-z0-9])/g, `$1${JOINER}`);
}

/**
 * `s` as inert monospace text: a backtick code span when it holds only characters that mean nothing
 * there (and nothing raw in the body: no `<`), else `<code>` around the escaped text (inside a
 * code span no escape works).
 */
export function mdCode(s: string, max = MAX_CELL): string {
  // No `@name` either: GitHub does not mention inside code, but a copied line would.
  if (s.length <= max && /^[A-Za-z0-9 ._:/@+=,'-]+$/.test(s) && !/(^|[^A-Za-z0-9])@/.test(s))
    return `\`${s}\``;
  return `<code>${mdText(s, max)}</code>`;
}

/** A value for a step output: outside text never carries a line break into one. */
export function oneLine(s: string): string {
  return s.replace(/[\r\n\u2028\u2029]+/g, ' ');
}
