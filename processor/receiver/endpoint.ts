/** host:port endpoints as the config writes them, split for listen(). */

import { BetraceError } from '../errors';

/** A listen address: host without brackets, port 0..65535 (0 = pick a free one). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Splits `host:port`, `[v6]:port` or `:port` (all interfaces, as the
 * Collector reads it). Throws ERR_PROCESSOR_STARTUP on anything else.
 */
export function toListenAddress(endpoint: string): ListenAddress {
  const colon = endpoint.lastIndexOf(':');
  const portText = colon < 0 ? '' : endpoint.slice(colon + 1);
  let host = colon < 0 ? '' : endpoint.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535 || host.includes('[')) {
    throw new BetraceError(
      'ERR_PROCESSOR_STARTUP',
      `receiver endpoint "${endpoint}" is not host:port`,
    );
  }
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** Joins a host and a port back into an endpoint, bracketing IPv6 hosts. */
export function fromListenAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
