// Secret values that can reach the log through the environment rather than through inputs:
// credentials inside proxy URLs (http://user:password@proxy:3128).
const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'FTP_PROXY'];

/** Every credential part of the proxy variables (both cases), raw and percent-decoded. */
export function proxyCredentials(env: NodeJS.ProcessEnv): string[] {
  const out = new Set<string>();
  for (const name of PROXY_VARIABLES.flatMap((n) => [n, n.toLowerCase()])) {
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
