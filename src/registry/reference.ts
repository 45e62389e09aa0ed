// Image references normalised the way Docker does: golang:1.24 -> docker.io/library/golang:1.24.

export interface ImageReference {
  /** Host to talk to: registry-1.docker.io for Docker Hub. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

// Each label starts and ends with a letter or digit (docker's domain-component): `-x.io/y` is no host.
const LABEL = '[a-z0-9](?:[a-z0-9-]*[a-z0-9])?';
const HOST = `${LABEL}(?:\\.${LABEL})*`;
const DOMAIN = new RegExp(`^(?:localhost|${HOST})(?::\\d+)?$`, 'i');
const HOST_AND_PORT = new RegExp(`^(${HOST})(?::(\\d{1,5}))?$`, 'i');
const PATH = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * A host name with an optional port, as a registry or a module host is written: dot-separated
 * labels of at most 63 characters that start and end with a letter or digit, at most 253
 * characters in all (DNS's limits), a port of 1-65535.
 */
export function isHostName(text: string): boolean {
  const m = HOST_AND_PORT.exec(text);
  if (!m || m[1]!.length > 253 || m[1]!.split('.').some((l) => l.length > 63)) return false;
  return m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 65535);
}

/** Whether the first path component of a reference is a registry host rather than a namespace. */
export function isRegistryHost(first: string): boolean {
  return (
    (first.includes('.') || first.includes(':') || first === 'localhost') && DOMAIN.test(first)
  );
}

/**
 * A reference exactly as given: text around it (a space, a newline) is refused, not trimmed, so
 * that no check passes a value that would reach argv or a request other than as it was checked
 * (a part file's `"ghcr.io/o/r\n"` passed and went to imagetools with its newline).
 */
export function parseImageReference(text: string): ImageReference {
  const s = text.trim();
  if (!s || s.length > 512 || s !== text) throw new Error(`invalid image reference "${text}"`);
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new Error(`invalid digest in image reference "${text}"`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new Error(`invalid tag "${tag}" in image reference "${text}"`);
  }
  let registry = 'docker.io';
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (first && isRegistryHost(first)) {
    registry = first;
    rest = rest.slice(slash + 1);
  }
  if (!PATH.test(rest))
    throw new Error(
      `invalid repository "${rest}" in image reference "${text}": use lowercase letters, digits and separators`,
    );
  if (registry === 'docker.io' || registry === 'index.docker.io') {
    registry = 'registry-1.docker.io';
    if (!rest.includes('/')) rest = `library/${rest}`;
  }
  return { registry, repository: rest, tag: tag ?? (digest ? undefined : 'latest'), digest };
}

export function formatImageReference(ref: ImageReference): string {
  const host = ref.registry === 'registry-1.docker.io' ? 'docker.io' : ref.registry;
  return `${host}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}
