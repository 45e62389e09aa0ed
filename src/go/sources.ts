// Where Go release lists come from: the go-release-source URL and the GOPROXY-style go-proxy list.
// Parsed here once, by the input reader (so a bad value stops the run before any work) and again
// by the fetcher (the CLI and tests call it directly), with the same rules.
import { InputError } from '../errors.ts';
import { parseHttpUrl, shownUrl, type HttpUrl } from '../io/url.ts';

export const DEFAULT_RELEASE_SOURCE = 'https://go.dev/dl/?mode=json&include=all';
export const DEFAULT_GO_PROXY = 'https://proxy.golang.org';

export function parseReleaseSource(value: string, input = 'go-release-source'): HttpUrl {
  return parseHttpUrl(value.trim(), input);
}

/**
 * The URL entries of a GOPROXY list (comma or pipe separated, as the go command reads it);
 * `direct` and `off` name no list to read and are skipped. Anything else must be an http(s) URL:
 * the go command refuses a URL without a scheme too.
 */
export function parseGoProxy(value: string, input = 'go-proxy'): HttpUrl[] {
  const out: HttpUrl[] = [];
  for (const raw of value.split(/[,|]/)) {
    const entry = raw.trim();
    if (!entry || entry === 'direct' || entry === 'off') continue;
    // host:port and bare hosts have no scheme; the go command refuses them too.
    if (!/^[a-z][a-z0-9+.-]*:(?!\d)/i.test(entry))
      throw new InputError(
        input,
        `"${shownUrl(entry)}" has no scheme: give https://host[/path] entries separated by commas, or direct/off`,
      );
    out.push(parseHttpUrl(entry, input));
  }
  return out;
}

/**
 * The go-proxy value the run uses and the name to blame for it: the input, else GOPROXY from the
 * environment (as the go command would use), else the public proxy.
 */
export function goProxySetting(
  inputValue: string,
  env: NodeJS.ProcessEnv,
): { value: string; input: string } {
  if (inputValue.trim()) return { value: inputValue, input: 'go-proxy' };
  const fromEnv = env['GOPROXY']?.trim();
  if (fromEnv)
    return { value: fromEnv, input: 'go-proxy (empty, so GOPROXY from the environment)' };
  return { value: DEFAULT_GO_PROXY, input: 'go-proxy' };
}
