// A read-only OCI distribution client: manifests, blobs and tags, anonymous or with the Bearer
// token flow (Docker Hub, ghcr.io). Nothing is pulled into an image store.
import { createHash } from 'node:crypto';
import { request, type HttpResponse } from '../io/http.ts';
import type { ImageReference } from './reference.ts';

export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface Manifest {
  mediaType: string;
  digest: string;
  body: {
    mediaType?: string;
    manifests?: Descriptor[];
    layers?: Descriptor[];
    config?: Descriptor;
  };
  raw: Buffer;
}

export interface Credentials {
  username: string;
  password: string;
}

const MAX_INDEX_ENTRIES = 256;

export class RegistryClient {
  private readonly tokens = new Map<string, string>();
  private readonly credentials: (registry: string) => Credentials | undefined;
  private readonly retryBackoffMs: number;
  private readonly timeoutMs?: number;

  constructor(
    opts: {
      credentials?: (registry: string) => Credentials | undefined;
      retryBackoffMs?: number;
      timeoutMs?: number;
    } = {},
  ) {
    this.credentials = opts.credentials ?? (() => undefined);
    this.retryBackoffMs = opts.retryBackoffMs ?? 500;
    this.timeoutMs = opts.timeoutMs;
  }

  private base(ref: ImageReference): string {
    const plain = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(ref.registry);
    return `${plain ? 'http' : 'https'}://${ref.registry}/v2/${ref.repository}`;
  }

  private async get(
    ref: ImageReference,
    url: string,
    accept: string[],
    method: 'GET' | 'HEAD' = 'GET',
    maxBytes = 8 << 20,
    sink?: (chunk: Buffer) => void,
  ): Promise<HttpResponse> {
    const key = `${ref.registry}/${ref.repository}`;
    const send = () => {
      const headers: Record<string, string> = { accept: accept.join(', ') };
      const token = this.tokens.get(key);
      if (token) headers['authorization'] = token;
      return request(url, {
        method,
        headers,
        maxBytes,
        backoffMs: this.retryBackoffMs,
        timeoutMs: this.timeoutMs,
        sink,
        attempts: sink ? 1 : 3,
      });
    };
    let res = await send();
    if (res.status === 401 && !this.tokens.has(key)) {
      await this.authenticate(ref, String(res.headers['www-authenticate'] ?? ''));
      res = await send();
    }
    if (res.status === 401 || res.status === 403)
      throw new Error(
        `registry ${ref.registry} refused access to ${ref.repository} (HTTP ${res.status}): log in to the registry or check the token's scope`,
      );
    return res;
  }

  private async authenticate(ref: ImageReference, challenge: string): Promise<void> {
    const key = `${ref.registry}/${ref.repository}`;
    const creds = this.credentials(ref.registry);
    if (/^basic/i.test(challenge)) {
      if (creds)
        this.tokens.set(
          key,
          `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`,
        );
      return;
    }
    const params = Object.fromEntries(
      [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    if (!params['realm']) return;
    const url = new URL(params['realm']);
    if (params['service']) url.searchParams.set('service', params['service']);
    url.searchParams.set('scope', params['scope'] ?? `repository:${ref.repository}:pull`);
    const headers: Record<string, string> = {};
    if (creds)
      headers['authorization'] =
        `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    const res = await request(url.toString(), {
      headers,
      maxBytes: 1 << 20,
      backoffMs: this.retryBackoffMs,
      timeoutMs: this.timeoutMs,
    });
    if (res.status !== 200)
      throw new Error(`token service ${url.host} answered HTTP ${res.status}`);
    let body: { token?: string; access_token?: string };
    try {
      body = JSON.parse(res.body.toString('utf8')) as typeof body;
    } catch {
      throw new Error(`token service ${url.host} did not answer JSON`);
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new Error(`token service ${url.host} gave no token`);
    this.tokens.set(key, `Bearer ${token}`);
  }

  /** The manifest or index for a tag or digest; undefined when the registry says it does not exist. */
  async getManifest(
    ref: ImageReference,
    reference = ref.digest ?? ref.tag ?? 'latest',
  ): Promise<Manifest | undefined> {
    const res = await this.get(ref, `${this.base(ref)}/manifests/${reference}`, MANIFEST_TYPES);
    if (res.status === 404) return undefined;
    if (res.status !== 200)
      throw new Error(
        `registry ${ref.registry}: manifest ${ref.repository}:${reference} answered HTTP ${res.status}`,
      );
    const digest = `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
    if (reference.startsWith('sha256:') && digest !== reference)
      throw new Error(`registry ${ref.registry}: manifest ${reference} does not match its digest`);
    let body: Manifest['body'];
    try {
      body = JSON.parse(res.body.toString('utf8')) as Manifest['body'];
    } catch {
      throw new Error(
        `registry ${ref.registry}: manifest ${ref.repository}:${reference} is not JSON`,
      );
    }
    const mediaType = body.mediaType ?? String(res.headers['content-type'] ?? '');
    return { mediaType, digest, body, raw: res.body };
  }

  async getBlob(ref: ImageReference, digest: string, maxBytes = 8 << 20): Promise<Buffer> {
    const res = await this.get(ref, `${this.base(ref)}/blobs/${digest}`, ['*/*'], 'GET', maxBytes);
    if (res.status !== 200)
      throw new Error(`registry ${ref.registry}: blob ${digest} answered HTTP ${res.status}`);
    const got = `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
    if (got !== digest)
      throw new Error(`registry ${ref.registry}: blob ${digest} does not match its digest`);
    return res.body;
  }

  /** A small JSON blob (an image config), parsed. */
  async getJsonBlob(
    ref: ImageReference,
    digest: string,
  ): Promise<{ os?: string; architecture?: string; variant?: string }> {
    const raw = await this.getBlob(ref, digest);
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        return parsed as { os?: string; architecture?: string; variant?: string };
    } catch {
      /* reported below */
    }
    throw new Error(`registry ${ref.registry}: blob ${digest} is not a JSON object`);
  }

  /** Streams a blob to `sink` (layers can be large) and checks its digest at the end. */
  async streamBlob(
    ref: ImageReference,
    digest: string,
    sink: (chunk: Buffer) => void,
  ): Promise<void> {
    const hash = createHash('sha256');
    const res = await this.get(ref, `${this.base(ref)}/blobs/${digest}`, ['*/*'], 'GET', 0, (c) => {
      hash.update(c);
      sink(c);
    });
    if (res.status !== 200)
      throw new Error(`registry ${ref.registry}: blob ${digest} answered HTTP ${res.status}`);
    if (`sha256:${hash.digest('hex')}` !== digest)
      throw new Error(`registry ${ref.registry}: blob ${digest} does not match its digest`);
  }

  /**
   * What the registry answers about a repository, in words: `HTTP 404 NAME_UNKNOWN (repository
   * name not known to registry)`. For explaining a failure whose own message lost the cause; the
   * registry's text is untrusted, so it is cut to printable characters and bounded.
   */
  async describeRepository(ref: ImageReference): Promise<string> {
    let res: HttpResponse;
    try {
      res = await this.get(
        ref,
        `${this.base(ref)}/tags/list?n=1`,
        ['application/json'],
        'GET',
        64 << 10,
      );
    } catch (e) {
      return printable(e instanceof Error ? e.message : String(e));
    }
    let detail = '';
    try {
      const body = JSON.parse(res.body.toString('utf8')) as {
        errors?: { code?: unknown; message?: unknown }[];
        message?: unknown;
      };
      const first = Array.isArray(body.errors) ? body.errors[0] : undefined;
      const code = typeof first?.code === 'string' ? first.code : '';
      const message = [first?.message, body.message].find((m) => typeof m === 'string');
      detail = [code, message ? `(${String(message)})` : ''].filter(Boolean).join(' ');
    } catch {
      /* a body that is not JSON says nothing more than the status */
    }
    return printable(`HTTP ${res.status}${detail ? ` ${detail}` : ''}`);
  }

  /** Tags of a repository, following the registry's Link pagination (bounded). */
  async listTags(ref: ImageReference): Promise<string[]> {
    const tags: string[] = [];
    let url: string | undefined = `${this.base(ref)}/tags/list?n=1000`;
    for (let page = 0; url && page < 20; page++) {
      const res = await this.get(ref, url, ['application/json']);
      if (res.status === 404) return tags;
      if (res.status !== 200)
        throw new Error(
          `registry ${ref.registry}: tags of ${ref.repository} answered HTTP ${res.status}`,
        );
      let body: { tags?: unknown };
      try {
        body = JSON.parse(res.body.toString('utf8')) as { tags?: unknown };
      } catch {
        throw new Error(`registry ${ref.registry}: tags of ${ref.repository} are not JSON`);
      }
      if (Array.isArray(body.tags))
        for (const t of body.tags) if (typeof t === 'string' && t.length <= 128) tags.push(t);
      const next = /<([^>]+)>;\s*rel="next"/.exec(String(res.headers['link'] ?? ''))?.[1];
      url = next ? new URL(next, url).toString() : undefined;
    }
    return tags;
  }

  /** Per-platform manifests of an image (attestation manifests skipped). */
  async resolvePlatforms(
    ref: ImageReference,
  ): Promise<{ platform: string; digest: string; manifest: Manifest }[] | undefined> {
    const top = await this.getManifest(ref);
    if (!top) return undefined;
    if (!top.body.manifests) {
      const config = top.body.config ? await this.getJsonBlob(ref, top.body.config.digest) : {};
      return [
        {
          platform: `${config.os ?? 'unknown'}/${config.architecture ?? 'unknown'}${config.variant ? `/${config.variant}` : ''}`,
          digest: top.digest,
          manifest: top,
        },
      ];
    }
    // A real multi-platform index has a handful of entries (plus attestations); a hostile one
    // must not turn into thousands of requests.
    if (top.body.manifests.length > MAX_INDEX_ENTRIES)
      throw new Error(
        `registry ${ref.registry}: index ${ref.repository} lists ${top.body.manifests.length} manifests, more than ${MAX_INDEX_ENTRIES}`,
      );
    const out = [];
    for (const d of top.body.manifests) {
      if (!d.platform || isAttestation(d)) continue;
      const m = await this.getManifest(ref, d.digest);
      if (!m)
        throw new Error(`registry ${ref.registry}: index names ${d.digest}, which is missing`);
      out.push({ platform: platformString(d.platform), digest: d.digest, manifest: m });
    }
    return out;
  }
}

/** An index entry for attestations (provenance, SBOM) that BuildKit adds beside each image. */
export function isAttestation(d: Descriptor): boolean {
  return (
    d.platform?.os === 'unknown' ||
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest'
  );
}

export function platformString(p: { os: string; architecture: string; variant?: string }): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Outside text for a log line: printable ASCII only, at most 200 characters. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]+/g, ' ').slice(0, 200);
}
