/**
 * A throwaway certificate authority with a server certificate (for
 * 127.0.0.1 and localhost) and a client certificate, made with `openssl` in
 * a temporary folder when a test starts.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Paths and contents of the generated PEM files. */
export interface TlsFiles {
  readonly dir: string;
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly ca: Buffer;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
  remove(): void;
}

/** Why TLS tests cannot run here, or null when openssl is available. */
export function tlsUnavailableReason(): string | null {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'openssl is not installed; TLS tests need it to make certificates';
  }
}

/** Generates the CA, server and client certificates (EC P-256, valid one day). */
export function createTlsFiles(): TlsFiles {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'betrace-receiver-tls-'));
  const file = (name: string): string => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe' });
  };

  run([
    'req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1',
    '-subj', '/CN=betrace test ca',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const issue = (name: string, extensions: string): void => {
    writeFileSync(file(`${name}.ext`), extensions);
    run(['req', ...ec, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${name}`]);
    run([
      'x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
      '-set_serial', String(Date.now()), '-days', '1', '-out', file(`${name}.pem`),
      '-extfile', file(`${name}.ext`),
    ]);
  };
  issue('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue('client', 'extendedKeyUsage=clientAuth\n');

  return {
    dir,
    caFile: file('ca.pem'),
    serverCertFile: file('server.pem'),
    serverKeyFile: file('server.key'),
    clientCertFile: file('client.pem'),
    clientKeyFile: file('client.key'),
    ca: readFileSync(file('ca.pem')),
    clientCert: readFileSync(file('client.pem')),
    clientKey: readFileSync(file('client.key')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
