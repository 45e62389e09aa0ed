// URLs the action is given (go-release-source, go-proxy, GOPROXY) and URLs it prints. One parser
// decides what a source URL may be; one redaction removes credentials from any text that names a
// URL, so every error, info line, output and summary goes through the same rule.
import { InputError } from '../errors.ts';

/** `scheme://userinfo@` in any text; the userinfo runs to the last `@` before the path. */
const USERINFO = /\b([a-z][a-z0-9+.-]{0,31}:\/\/)[^/?#\s]*@/gi;

/** The text with the userinfo of every URL in it replaced by `***` (`https://***@host/...`). */
export function redactUrl(text: string): string {
  return text.replace(USERINFO, '$1***@');
}

/**
 * A URL for an error message about it: redacted, and when it is too malformed for that (an `@` left
 * after redaction), only what follows its last `@`, so a mistyped https//user:token@host shows no token.
 */
export function shownUrl(value: string): string {
  const r = redactUrl(value);
  const shown = r.replace(/\*\*\*@/g, '').includes('@') ? `...${r.slice(r.lastIndexOf('@'))}` : r;
  return shown.length > 200 ? `${shown.slice(0, 200)}...` : shown;
}

export interface UrlCredentials {
  username: string;
  password: string;
}

/** A URL the action may fetch: http or https, credentials taken out of it. */
export interface HttpUrl {
  /** The URL without userinfo: what is requested and what may be printed. */
  url: string;
  credentials?: UrlCredentials;
}

/**
 * Parses a URL input: only `https:` and `http:` (a `file:`, `ftp:` or `javascript:` URL would
 * otherwise become a plain HTTP request), no control characters, credentials split off.
 * `input` names what the value came from in the error (an input, or GOPROXY in the environment).
 */
export function parseHttpUrl(value: string, input: string): HttpUrl {
  const shown = shownUrl(value);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(value))
    throw new InputError(
      input,
      `${JSON.stringify(shown)} holds spaces or control characters: give one http(s) URL`,
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(
      input,
      `"${shown}" is not a URL: give an absolute https:// URL (e.g. https://proxy.golang.org)`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new InputError(
      input,
      `"${shown}" uses ${url.protocol.replace(/:$/, '') || 'no'} scheme: only https:// (or http:// for a local mirror) is fetched`,
    );
  if (!url.hostname)
    throw new InputError(input, `"${shown}" names no host: give an absolute https:// URL`);
  const credentials =
    url.username || url.password
      ? { username: decode(url.username), password: decode(url.password) }
      : undefined;
  url.username = '';
  url.password = '';
  return { url: url.href, credentials };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** `Authorization: Basic ...` for credentials taken from a URL (as the go command sends them). */
export function basicAuthorization(c: UrlCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/**
 * Every secret-bearing form of the credentials in the URLs of a text (a GOPROXY list holds
 * several): raw and percent-decoded, `user:password` and the password alone, and the Basic
 * authorization value, so none can reach a log line unmasked. Malformed URLs count too: the
 * error that rejects them might print them.
 */
export function urlCredentialSecrets(text: string): string[] {
  const out = new Set<string>();
  const userinfos: string[] = [];
  for (const m of text.matchAll(/\b[a-z][a-z0-9+.-]{0,31}:\/\/([^/?#\s]*)@/gi))
    userinfos.push(m[1]!);
  // Entries without a scheme (bot:token@proxy, https//bot:token@host) are refused, but their
  // error must not show the token either.
  for (const entry of text.split(/[\s,|]+/)) {
    if (entry.includes('://')) continue;
    const authority = entry.replace(/^[a-z][a-z0-9+.-]{0,31}:?\/+/i, '').split(/[/?#]/)[0] ?? '';
    const at = authority.lastIndexOf('@');
    if (at > 0) userinfos.push(authority.slice(0, at));
  }
  for (const userinfo of userinfos) {
    const colon = userinfo.indexOf(':');
    const password = colon >= 0 ? userinfo.slice(colon + 1) : '';
    const username = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    for (const part of [userinfo, password])
      if (part && part !== ':') {
        out.add(part);
        out.add(decode(part));
      }
    // A user name alone (a token as the user, as GitHub tokens often are) is a secret too.
    if (!password && username) out.add(decode(username));
    out.add(
      basicAuthorization({ username: decode(username), password: decode(password) }).slice(6),
    );
  }
  return [...out].filter((s) => s.length > 0);
}
