// Secret values that can reach the log through the environment rather than through inputs:
// credentials inside proxy URLs (http://user:password@proxy:3128) and inside the URLs of the Go
// release sources (go-release-source, go-proxy, GOPROXY).
import { secretValuesToMask } from './buildx/secrets.ts';
import type { Host } from './host.ts';
import { urlCredentialSecrets } from './io/url.ts';

/** BuildKit's predefined proxy args, both cases: what the runner may set and the build may get. */
export const PROXY_VARIABLES = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'FTP_PROXY',
].flatMap((n) => [n, n.toLowerCase()]);

/** Every credential part of the proxy variables (both cases), raw and percent-decoded. */
export function proxyCredentials(env: NodeJS.ProcessEnv): string[] {
  const out = new Set<string>();
  // NO_PROXY lists hosts; it holds no credentials.
  for (const name of PROXY_VARIABLES.filter((n) => !/^no_proxy$/i.test(n))) {
    const value = env[name];
    if (!value) continue;
    let url: URL;
    try {
      url = new URL(value.includes('://') ? value : `http://${value}`);
    } catch {
      continue;
    }
    for (const part of [url.password, url.username ? `${url.username}:${url.password}` : ''])
      if (part && part !== ':') {
        out.add(part);
        try {
          out.add(decodeURIComponent(part));
        } catch {
          /* not percent-encoded */
        }
      }
  }
  return [...out];
}

/**
 * Credentials inside go-release-source, go-proxy and GOPROXY (https://user:token@mirror/): the
 * action sends them as Basic authorization and prints the URLs without them, and masks every form
 * of them before any request or log line, including errors about a malformed URL.
 */
export function releaseSourceCredentials(
  read: (name: string) => string,
  env: NodeJS.ProcessEnv,
): string[] {
  return urlCredentialSecrets(
    [read('go-release-source'), read('go-proxy'), env['GOPROXY'] ?? ''].join('\n'),
  );
}

/**
 * Every secret value of the run, masked before anything can fail and print it: the tokens, the
 * credentials in proxy and release-source URLs, and the `secrets` values, masked before validation
 * (which may print the input it rejects) by the same parser as the build's (src/buildx/secrets.ts),
 * so the masked value is the value passed.
 */
export function maskSecrets(host: Pick<Host, 'input' | 'env' | 'setSecret'>): void {
  for (const name of ['github-token', 'go-private-token']) {
    const token = host.input(name);
    if (token) host.setSecret(token);
  }
  for (const c of proxyCredentials(host.env)) host.setSecret(c);
  for (const c of releaseSourceCredentials(host.input, host.env)) host.setSecret(c);
  for (const v of secretValuesToMask(host.input('secrets'))) host.setSecret(v);
}
