// A self-signed certificate for an IP address (its own CA), made with openssl, for the TLS stand-ins.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function selfSignedCertificate(ip: string): { keyFile: string; certFile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-cert-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
      ...['-keyout', keyFile, '-out', certFile, '-subj', `/CN=${ip}`],
      ...['-addext', `subjectAltName=IP:${ip}`, '-addext', 'basicConstraints=critical,CA:TRUE'],
    ],
    { stdio: 'ignore' },
  );
  return { keyFile, certFile };
}

export interface MutualTls {
  caFile: string;
  server: { keyFile: string; certFile: string };
  client: { keyFile: string; certFile: string };
}

/** A CA with a server certificate for an IP address and a client certificate, as buildkitd uses. */
export function mutualTls(ip: string): MutualTls {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-mtls-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl(
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
    ...['-keyout', file('ca-key.pem'), '-out', file('ca.pem'), '-subj', '/CN=bgi test CA'],
  );
  const issue = (name: string, subject: string, ext: string) => {
    writeFileSync(file(`${name}.ext`), ext);
    openssl(
      ...['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}-key.pem`)],
      ...['-out', file(`${name}.csr`), '-subj', subject],
    );
    openssl(
      ...['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem')],
      ...['-CAkey', file('ca-key.pem'), '-CAcreateserial', '-days', '1'],
      ...['-out', file(`${name}.pem`), '-extfile', file(`${name}.ext`)],
    );
    return { keyFile: file(`${name}-key.pem`), certFile: file(`${name}.pem`) };
  };
  return {
    caFile: file('ca.pem'),
    server: issue('server', `/CN=${ip}`, `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth\n`),
    client: issue('client', '/CN=buildx', 'extendedKeyUsage=clientAuth\n'),
  };
}
