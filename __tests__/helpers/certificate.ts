// A self-signed certificate for an IP address (its own CA), made with openssl, for the TLS stand-ins.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
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
