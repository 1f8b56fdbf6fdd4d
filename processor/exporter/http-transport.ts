/**
 * OTLP/HTTP with protobuf bodies towards the downstream, over keep-alive
 * connections; gzip is applied once per request, not once per attempt.
 */

import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';

import { toHttpUrl } from './endpoint';
import { readTlsMaterial } from './tls-files';
import { decodeRpcStatus, toAcceptedOutcome } from './wire';

import type { OtlpExporterConfig } from '../../config/types';
import type {
  AttemptAccepted,
  AttemptFailed,
  AttemptOutcome,
  ExportTransport,
  PreparedRequest,
} from './transport';

/**
 * The statuses OTLP/HTTP lists as retryable:
 * https://opentelemetry.io/docs/specs/otlp/#retryable-response-codes
 */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
/** Answers are small; reading more from a misbehaving server buys nothing. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_MESSAGE_CHARS = 256;

type RequestFn = (
  url: URL,
  options: http.RequestOptions,
  onResponse: (res: http.IncomingMessage) => void,
) => http.ClientRequest;

/** Creates the HTTP transport; throws at startup on an unreadable TLS file. */
export function createHttpTransport(config: OtlpExporterConfig): ExportTransport {
  const url = toHttpUrl(config.endpoint, config.tls.insecure);
  const useTls = url.protocol === 'https:';
  const agent = useTls ? createTlsAgent(config) : new http.Agent({ keepAlive: true });
  const request: RequestFn = useTls ? https.request : http.request;
  const gzip = config.compression === 'gzip';
  const baseHeaders = {
    ...toLowerCaseKeys(config.headers),
    'content-type': 'application/x-protobuf',
  };

  return {
    // Without the query and any user:password, which must not reach the logs.
    target: `${url.origin}${url.pathname}`,
    prepare: async (bytes) => {
      const body = gzip ? await gzipFast(bytes) : bytes;
      const headers: http.OutgoingHttpHeaders = {
        ...baseHeaders,
        'content-length': body.byteLength,
      };
      if (gzip) headers['content-encoding'] = 'gzip';
      const options = { method: 'POST', agent, headers };
      return prepareRequest(url, options, request, body);
    },
    close: () => agent.destroy(),
  };
}

function createTlsAgent(config: OtlpExporterConfig): https.Agent {
  const tls = readTlsMaterial(config.tls);
  return new https.Agent({
    keepAlive: true,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    servername: tls.serverName === '' ? undefined : tls.serverName,
  });
}

function prepareRequest(
  url: URL,
  options: http.RequestOptions,
  request: RequestFn,
  body: Uint8Array,
): PreparedRequest {
  return {
    attempt: (timeoutMs, signal) =>
      new Promise<AttemptOutcome>((resolve) => {
        let settled = false;
        const finish = (outcome: AttemptOutcome): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(outcome);
        };

        const req = request(url, options, (res) => readResponse(res, finish));
        // One timer for the whole exchange: a socket timeout only sees silence.
        const timer = setTimeout(() => {
          finish(failure(true, 'TIMEOUT', `no answer within ${timeoutMs} ms`));
          req.destroy();
        }, timeoutMs);
        const onAbort = (): void => {
          finish(failure(false, 'CANCELLED', 'the exporter stopped the attempt'));
          req.destroy();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        // Socket failures (refused, reset, TLS) may heal, so they are retried.
        req.on('error', (err: NodeJS.ErrnoException) =>
          finish(failure(false, err.code ?? 'CONNECTION_ERROR', err.message)),
        );
        req.end(body);
      }),
  };
}

function readResponse(
  res: http.IncomingMessage,
  finish: (outcome: AttemptOutcome) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (chunk: Buffer) => {
    if (size < MAX_RESPONSE_BYTES) chunks.push(chunk);
    size += chunk.length;
  });
  res.on('error', (err) =>
    finish(failure(false, 'RESPONSE_ERROR', err.message)),
  );
  res.on('end', () => finish(toOutcome(res, Buffer.concat(chunks))));
}

function toOutcome(res: http.IncomingMessage, body: Buffer): AttemptOutcome {
  const status = res.statusCode ?? 0;
  const contentType = String(res.headers['content-type'] ?? '');
  if (status >= 200 && status < 300) {
    return contentType.includes('json')
      ? fromJsonResponse(body)
      : toAcceptedOutcome(body);
  }
  return {
    ok: false,
    retryable: RETRYABLE_STATUSES.has(status),
    timedOut: false,
    status: `http_${status}`,
    message: toErrorMessage(contentType, body),
    retryAfterMs: fromRetryAfter(res.headers['retry-after']),
  };
}

function failure(timedOut: boolean, status: string, message: string): AttemptFailed {
  return { ok: false, retryable: true, timedOut, status, message };
}

/** Retry-After holds delay-seconds or an HTTP date (RFC 9110 section 10.2.3). */
function fromRetryAfter(value: string | undefined): number | undefined {
  const text = value?.trim() ?? '';
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The message of a google.rpc.Status body, or the start of a text body. */
function toErrorMessage(contentType: string, body: Buffer): string {
  if (contentType.includes('protobuf')) {
    const status = decodeRpcStatus(body);
    if (status && status.message !== '') {
      return status.message.slice(0, MAX_MESSAGE_CHARS);
    }
  }
  return body.toString('utf8', 0, Math.min(body.length, MAX_MESSAGE_CHARS));
}

function fromJsonResponse(body: Buffer): AttemptAccepted {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as {
      partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string };
    };
    const partial = parsed.partialSuccess ?? {};
    return {
      ok: true,
      rejectedSpans: Number(partial.rejectedSpans ?? 0) || 0,
      message: partial.errorMessage ?? '',
    };
  } catch {
    return { ok: true, rejectedSpans: 0, message: '' };
  }
}

function gzipFast(bytes: Uint8Array): Promise<Buffer> {
  // The fastest level: the export path is CPU-bound long before the network.
  const options = { level: zlib.constants.Z_BEST_SPEED };
  return new Promise((resolve, reject) => {
    zlib.gzip(bytes, options, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

function toLowerCaseKeys(
  headers: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name.toLowerCase()] = value;
  }
  return out;
}
