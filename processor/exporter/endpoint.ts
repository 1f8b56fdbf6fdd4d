/**
 * Turns `exporters.otlp.endpoint` into what each transport dials. An
 * `http://` endpoint means plaintext and `https://` TLS; a bare `host:port`
 * follows `tls.insecure`.
 */

const DEFAULT_HTTP_PATH = '/v1/traces';

/** A gRPC target and whether to dial it with TLS. */
export interface GrpcTarget {
  /** `host:port` as grpc-js takes it (the config turns `http://` and `https://` endpoints into this). */
  readonly target: string;
  readonly useTls: boolean;
}

/** Resolves the gRPC target; the path of a URL endpoint is ignored. */
export function toGrpcTarget(endpoint: string, insecure: boolean): GrpcTarget {
  const scheme = schemeOf(endpoint);
  if (scheme === '') return { target: endpoint, useTls: !insecure };

  const url = new URL(endpoint);
  const useTls = scheme === 'https';
  const port = url.port === '' ? (useTls ? '443' : '80') : url.port;
  return { target: `${url.hostname}:${port}`, useTls };
}

/** Resolves the OTLP/HTTP URL, adding `/v1/traces` when the endpoint has no path. */
export function toHttpUrl(endpoint: string, insecure: boolean): URL {
  const bare = schemeOf(endpoint) === '';
  const url = new URL(bare ? `${insecure ? 'http' : 'https'}://${endpoint}` : endpoint);
  if (url.pathname === '' || url.pathname === '/') url.pathname = DEFAULT_HTTP_PATH;
  return url;
}

function schemeOf(endpoint: string): '' | 'http' | 'https' {
  const lower = endpoint.toLowerCase();
  if (lower.startsWith('http://')) return 'http';
  if (lower.startsWith('https://')) return 'https';
  return '';
}
