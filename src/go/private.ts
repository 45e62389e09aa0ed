// What a Go build needs from the runner beyond the source: GOPRIVATE and credentials for private
// module hosts (a netrc, as a BuildKit secret: never a build-arg, a layer or a log line), the
// runner's proxy settings, and extra CAs for a corporate proxy or module server.
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.ts';
import { readBoundedText, readInputFile } from '../io/files.ts';
import type { Inputs } from '../inputs.ts';
import { PROXY_VARIABLES } from '../secrets.ts';

export const NETRC_SECRET = 'netrc';
export const CA_SECRET = 'ca-bundle';
const NETRC_ENV = 'BGI_NETRC';

const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/cert.pem',
];

export interface BuildExtras {
  buildArgs: Map<string, string>;
  envBuildArgs: string[];
  secrets: { id: string; env?: string; src?: string }[];
  env: Record<string, string>;
  notes: string[];
}

/** Hosts named by GOPRIVATE patterns (first path element, no globs) and the workflow's host. */
export function netrcHosts(goPrivate: string[], serverUrl: string | undefined): string[] {
  const hosts = new Set<string>();
  for (const pattern of goPrivate) {
    const first = pattern.split('/')[0] ?? '';
    if (first.includes('.') && !/[*?[\]]/.test(first)) hosts.add(first.toLowerCase());
  }
  try {
    hosts.add(new URL(serverUrl || 'https://github.com').host.toLowerCase());
  } catch {
    /* a malformed GITHUB_SERVER_URL adds nothing */
  }
  return [...hosts];
}

export function renderNetrc(hosts: string[], login: string, token: string): string {
  return hosts.map((h) => `machine ${h}\nlogin ${login}\npassword ${token}\n`).join('');
}

export function proxyBuildArgNames(env: NodeJS.ProcessEnv): string[] {
  return PROXY_VARIABLES.filter((n) => env[n]);
}

/** The runner's CA bundle plus the user's certificates, so public TLS keeps working in the build. */
export function combineCaBundle(
  userFile: string,
  outFile: string,
  systemBundles = SYSTEM_BUNDLES,
): string {
  const extra = readInputFile('ca-bundle', userFile, {
    maxBytes: 1024 * 1024,
    what: 'the CA bundle',
    fix: 'give the path of a PEM file',
  });
  if (!extra.includes('-----BEGIN CERTIFICATE-----'))
    throw new InputError(
      'ca-bundle',
      `${userFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
  const system = systemBundles.find((f) => existsSync(f));
  const base = system ? readBoundedText(system, 16 * 1024 * 1024, 'the system CA bundle') : '';
  writeFileSync(outFile, `${base.trimEnd()}\n${extra.trimEnd()}\n`, { mode: 0o600 });
  chmodSync(outFile, 0o600);
  return system ?? 'no system bundle found';
}

/** The build-args of the build: the user's, then those the action adds that the user did not set. */
export function withExtraBuildArgs(
  userArgs: ReadonlyMap<string, string>,
  extras: Pick<BuildExtras, 'buildArgs'>,
): Map<string, string> {
  const args = new Map(userArgs);
  for (const [k, v] of extras.buildArgs) if (!args.has(k)) args.set(k, v);
  return args;
}

export function buildExtras(inputs: Inputs, env: NodeJS.ProcessEnv, workDir: string): BuildExtras {
  const extras: BuildExtras = {
    buildArgs: new Map(),
    envBuildArgs: inputs.buildProxy ? proxyBuildArgNames(env) : [],
    secrets: [],
    env: {},
    notes: [],
  };
  if (extras.envBuildArgs.length > 0)
    extras.notes.push(`proxy settings passed to the build: ${extras.envBuildArgs.join(', ')}`);
  if (inputs.goPrivate.length > 0) {
    extras.buildArgs.set('GOPRIVATE', inputs.goPrivate.join(','));
    const hosts =
      inputs.goPrivateHosts.length > 0
        ? inputs.goPrivateHosts
        : netrcHosts(inputs.goPrivate, env['GITHUB_SERVER_URL']);
    if (inputs.goPrivateToken && hosts.length > 0) {
      extras.env[NETRC_ENV] = renderNetrc(hosts, inputs.goPrivateUser, inputs.goPrivateToken);
      extras.secrets.push({ id: NETRC_SECRET, env: NETRC_ENV });
      extras.notes.push(`secret "${NETRC_SECRET}" holds credentials for ${hosts.join(', ')}`);
    } else
      extras.notes.push(
        'go-private is set but no token is given (go-private-token or github-token): no netrc secret',
      );
  }
  if (inputs.caBundle) {
    const out = path.join(workDir, 'ca-bundle.pem');
    const system = combineCaBundle(inputs.caBundle, out);
    extras.secrets.push({ id: CA_SECRET, src: out });
    extras.notes.push(`secret "${CA_SECRET}": ${inputs.caBundle} added to ${system}`);
  }
  return extras;
}
