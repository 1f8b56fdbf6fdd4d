/**
 * Reads the PEM files named by `exporters.otlp.tls` once, at startup.
 */

import fs from 'node:fs';

import { BetraceError } from '../errors';

import type { ExporterTlsConfig } from '../../config/types';

/** The PEM contents; a field is undefined when its file is not configured. */
export interface TlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** '' when the certificate's name is checked against the endpoint's host. */
  readonly serverName: string;
}

/**
 * Reads the configured files; throws ERR_PROCESSOR_STARTUP naming the key of
 * a file it cannot read.
 */
export function readTlsMaterial(tls: ExporterTlsConfig): TlsMaterial {
  return {
    ca: readOptional('ca_file', tls.caFile),
    cert: readOptional('cert_file', tls.certFile),
    key: readOptional('key_file', tls.keyFile),
    serverName: tls.serverName,
  };
}

function readOptional(key: string, file: string): Buffer | undefined {
  if (file === '') return undefined;
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new BetraceError(
      'ERR_PROCESSOR_STARTUP',
      `cannot read exporters.otlp.tls.${key} "${file}": ${(err as Error).message}`,
      { cause: err },
    );
  }
}
