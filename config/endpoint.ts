/**
 * Endpoints as the config writes them: `host:port` (`[::1]:4317` for IPv6)
 * or, where a URL is allowed, `http://host:port/path`.
 */

import net from 'node:net';

import { BetraceError } from '../processor/errors';

/** An endpoint split into its parts. */
export interface EndpointAddress {
  /** 'http' or 'https' when written as a URL, '' for `host:port`. */
  readonly scheme: '' | 'http' | 'https';
  /** Host name or IP address, without the brackets of an IPv6 address. */
  readonly host: string;
  /** 0 to 65535; a URL without a port gets 80 or 443. */
  readonly port: number;
  /** The URL's path, '' when there is none (or only `/`). */
  readonly path: string;
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const HOST_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

/**
 * Splits an endpoint into scheme, host, port and path. A URL is accepted
 * only with `allowUrl`. Throws a BetraceError with code
 * ERR_CONFIG_BAD_ENDPOINT naming what is wrong.
 */
export function parseEndpoint(
  text: string,
  options: { readonly allowUrl?: boolean } = {},
): EndpointAddress {
  if (SCHEME.test(text)) {
    if (options.allowUrl !== true) {
      throw badEndpoint(`endpoint "${text}" must be host:port, not a URL`);
    }
    return parseUrlEndpoint(text);
  }
  const match = /^(\[[^\]]*\]|[^:[\]]*):([^:]*)$/.exec(text);
  if (match === null) {
    const hint = text.includes(':') ? ' (write IPv6 addresses in brackets: [::1]:4317)' : '';
    throw badEndpoint(`endpoint "${text}" is not host:port${hint}`);
  }
  const [, rawHost = '', rawPort = ''] = match;
  return { scheme: '', host: toHost(rawHost, text), port: toPort(rawPort, text), path: '' };
}

function parseUrlEndpoint(text: string): EndpointAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badEndpoint(`endpoint "${text}" is not a valid URL`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'http' && scheme !== 'https') {
    throw badEndpoint(`endpoint "${text}" must use http:// or https://, not ${scheme}://`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw badEndpoint(
      `endpoint "${text}" must not carry a user, a query or a fragment (put credentials in headers)`,
    );
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') {
    throw badEndpoint(`endpoint "${text}" has no host`);
  }
  const port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
  return { scheme, host, port, path: url.pathname === '/' ? '' : url.pathname };
}

function toHost(raw: string, text: string): string {
  if (raw.startsWith('[')) {
    const inner = raw.slice(1, -1);
    if (!net.isIPv6(inner)) {
      throw badEndpoint(
        `endpoint "${text}" has "${inner}" in brackets, which is not an IPv6 address`,
      );
    }
    return inner;
  }
  if (raw === '') {
    throw badEndpoint(
      `endpoint "${text}" has no host (write 0.0.0.0:PORT to listen on every interface)`,
    );
  }
  if (!HOST_NAME.test(raw)) {
    throw badEndpoint(`endpoint "${text}" has an invalid host "${raw}"`);
  }
  return raw;
}

function toPort(raw: string, text: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
    throw badEndpoint(`endpoint "${text}" has an invalid port "${raw}" (0 to 65535)`);
  }
  return Number(raw);
}

function badEndpoint(message: string): BetraceError {
  return new BetraceError('ERR_CONFIG_BAD_ENDPOINT', message);
}
