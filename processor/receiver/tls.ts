/** Reads a receiver's TLS files once, at start. */

import { readFile } from 'node:fs/promises';

import { BetraceError } from '../errors';

import type { ReceiverTlsConfig } from '../../config/types';

/** PEM contents for a TLS listener. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** CA that client certificates must chain to; null = no client certificate asked for. */
  readonly clientCa: Buffer | null;
}

/**
 * Loads the certificate, key and optional client CA; null when TLS is off
 * (neither file set). Throws ERR_PROCESSOR_STARTUP when only one of
 * certFile/keyFile is set, because serving plaintext then would hide the
 * mistake, or when a file cannot be read.
 */
export async function loadReceiverTls(tls: ReceiverTlsConfig): Promise<TlsMaterial | null> {
  if (tls.certFile === '' && tls.keyFile === '') return null;
  if (tls.certFile === '' || tls.keyFile === '') {
    throw new BetraceError(
      'ERR_PROCESSOR_STARTUP',
      'receiver tls needs both cert_file and key_file',
    );
  }
  const [cert, key, clientCa] = await Promise.all([
    readPem(tls.certFile, 'cert_file'),
    readPem(tls.keyFile, 'key_file'),
    tls.clientCaFile === '' ? null : readPem(tls.clientCaFile, 'client_ca_file'),
  ]);
  return { cert, key, clientCa };
}

async function readPem(file: string, key: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new BetraceError(
      'ERR_PROCESSOR_STARTUP',
      `cannot read receiver tls ${key} "${file}": ${(err as Error).message}`,
      { cause: err },
    );
  }
}
