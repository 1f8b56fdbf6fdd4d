/**
 * The OTLP/HTTP trace receiver: `POST /v1/traces` with protobuf or JSON
 * bodies, optionally gzip, on node:http (node:https with TLS). Answers as the
 * Collector's OTLP receiver does: the reply mirrors the request's encoding,
 * errors are a google.rpc.Status, other paths (the metrics and logs signals
 * among them) are 404 and other methods 405. See "OTLP/HTTP" in
 * https://github.com/open-telemetry/opentelemetry-proto/blob/main/docs/specification.md
 */

import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';

import type { IncomingMessage, ServerResponse } from 'node:http';

import type { HttpReceiverConfig } from '../../config/types';
import { encodeExportResponse } from '../../proto/export-response';
import { otlpJsonToProtobuf } from '../../proto/otlp-json';
import { BetraceError } from '../errors';
import { fromListenAddress, toListenAddress } from './endpoint';
import { ZSTD_AVAILABLE, readRequestBody } from './http-body';
import { createLogErrorOnce, toErrorKind } from './log-once';
import { LOOP_GUARD_HEADER, refuseOwnExport } from './loop-guard';
import { RPC_CODE, toRefusal, toRetryAfterSeconds } from './refusal';
import { encodeRpcStatus, toRpcStatusJson } from './rpc-status';
import { loadReceiverTls } from './tls';

import type { BodyEncoding } from './http-body';
import type { IngestResult, Receiver, ReceiverDeps, TraceIngest } from './ingest';
import type { LogErrorOnce } from './log-once';
import type { ReceiverMetrics } from './metrics';

/** The one path this receiver serves. */
export const TRACES_PATH = '/v1/traces';

const PROTOBUF_TYPE = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

// A refused body up to this size is read and dropped so that the
// connection stays usable; past it, the connection is closed instead.
const DRAIN_LIMIT_BYTES = 1024 * 1024;

type BodyFormat = 'protobuf' | 'json';

interface HttpContext {
  readonly config: HttpReceiverConfig;
  readonly ingest: TraceIngest;
  readonly metrics: ReceiverMetrics;
  readonly logErrorOnce: LogErrorOnce;
  readonly isClosing: () => boolean;
  readonly processorId: string | undefined;
}

/** Creates the HTTP receiver; nothing listens until `start()`. */
export function createHttpReceiver(
  config: HttpReceiverConfig,
  ingest: TraceIngest,
  deps: ReceiverDeps,
): Receiver {
  const log = deps.logger.child({ component: 'receiver/otlp_http' });
  let server: http.Server | null = null;
  let endpoint = config.endpoint;
  let closing = false;
  let stopped: Promise<void> | null = null;
  const context: HttpContext = {
    config,
    ingest,
    metrics: deps.metrics,
    logErrorOnce: createLogErrorOnce(log),
    isClosing: () => closing,
    processorId: deps.processorId,
  };

  return {
    get endpoint() {
      return endpoint;
    },

    async start() {
      if (server !== null) return;
      const { host, port } = toListenAddress(config.endpoint);
      const tls = await loadReceiverTls(config.tls);
      const created = tls === null
        ? http.createServer()
        : https.createServer({
          cert: tls.cert,
          key: tls.key,
          ca: tls.clientCa ?? undefined,
          requestCert: tls.clientCa !== null,
          rejectUnauthorized: tls.clientCa !== null,
        });
      created.on('request', (req: IncomingMessage, res: ServerResponse) => {
        void handleRequest(context, req, res, false);
      });
      // Answering Expect: 100-continue ourselves lets a body that is refused
      // up front (size, type) never be sent at all.
      created.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
        void handleRequest(context, req, res, true);
      });
      const boundPort = await listen(created, host, port);
      server = created;
      endpoint = fromListenAddress(host, boundPort);
      log.info({ endpoint, transport: 'http', tls: tls !== null }, 'receiver listening');
    },

    shutdown(deadlineMs) {
      if (server === null) return Promise.resolve();
      closing = true;
      stopped ??= closeServer(server, deadlineMs).then(() => {
        log.info({ endpoint, transport: 'http' }, 'receiver stopped');
      });
      return stopped;
    },
  };
}

async function handleRequest(
  context: HttpContext,
  req: IncomingMessage,
  res: ServerResponse,
  expectsContinue: boolean,
): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  const format = toBodyFormat(req.headers['content-type']);
  if (path !== TRACES_PATH) {
    const message = `no such path "${path}"; this receiver serves POST ${TRACES_PATH}`;
    replyStatus(res, 404, RPC_CODE.NOT_FOUND, message, format);
    return;
  }
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    const message = `method ${req.method ?? ''} is not allowed on ${TRACES_PATH}; use POST`;
    replyStatus(res, 405, RPC_CODE.UNIMPLEMENTED, message, format);
    return;
  }

  const startedAt = performance.now();
  // Set once the sender was told to go on; until then a sender that asked
  // first (Expect: 100-continue) holds its body back.
  let bodyComing = !expectsContinue;
  const sendContinue = (): void => {
    if (bodyComing) return;
    res.writeContinue();
    bodyComing = true;
  };
  try {
    const request = await readTraceRequest(context, req, sendContinue);
    const result = await context.ingest.ingest(request, 'http');
    const body = toSuccessBody(result, format);
    context.metrics.recordAccepted('http', result);
    replyBody(res, 200, format, body, context.isClosing());
  } catch (err) {
    refuse(context, req, res, err, format, bodyComing);
  } finally {
    context.metrics.observeDurationSeconds('http', (performance.now() - startedAt) / 1000);
  }
}

/** Checks the headers, reads the body and returns it as OTLP protobuf bytes. */
async function readTraceRequest(
  context: HttpContext,
  req: IncomingMessage,
  sendContinue: () => void,
): Promise<Uint8Array> {
  if (context.isClosing()) {
    throw new BetraceError('ERR_RECEIVER_SHUTTING_DOWN', 'the receiver is shutting down', {
      retryable: true,
    });
  }
  refuseOwnExport(req.headers[LOOP_GUARD_HEADER], context.processorId);
  const mediaType = toMediaType(req.headers['content-type']);
  if (mediaType !== PROTOBUF_TYPE && mediaType !== JSON_TYPE) {
    throw new BetraceError(
      'ERR_RECEIVER_UNSUPPORTED_MEDIA_TYPE',
      `unsupported content type "${mediaType}"; use ${PROTOBUF_TYPE} or ${JSON_TYPE}`,
    );
  }
  const encoding = toBodyEncoding(req.headers['content-encoding']);
  const maxBytes = context.config.maxRequestBodySizeBytes;
  const declaredBytes = toContentLength(req);
  if (declaredBytes !== null && declaredBytes > maxBytes) {
    throw new BetraceError(
      'ERR_RECEIVER_BODY_TOO_LARGE',
      `request body of ${declaredBytes} bytes is larger than the limit of ${maxBytes} bytes`,
    );
  }
  sendContinue();
  const body = await readRequestBody(req, { maxBytes, encoding });
  return mediaType === JSON_TYPE ? otlpJsonToProtobuf(body) : body;
}

function refuse(
  context: HttpContext,
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  format: BodyFormat,
  bodyComing: boolean,
): void {
  if (err instanceof BetraceError && err.code === 'ERR_RECEIVER_CLIENT_ABORTED') {
    // Nobody is left to answer.
    res.destroy();
    return;
  }
  const refusal = toRefusal(err);
  context.metrics.recordRefused('http', refusal.reason, refusal.spans);
  if (refusal.reason === 'internal' || refusal.reason === 'export_loop') {
    context.logErrorOnce(toErrorKind(err), err, { transport: 'http' });
  }
  // A body that was never asked for may or may not follow; only a new
  // connection is unambiguous.
  const closeAfter = context.isClosing() || !bodyComing || !prepareForNextRequest(req);
  if (refusal.retryAfterMs > 0) {
    res.setHeader('Retry-After', String(toRetryAfterSeconds(refusal.retryAfterMs)));
  }
  replyStatus(res, refusal.httpStatus, refusal.rpcCode, refusal.message, format, closeAfter);
}

/**
 * Makes the connection reusable after a refusal that left part of the body
 * unread: reads and drops the rest. Returns false (close the connection
 * instead) when the declared rest is over the drain limit; a body of unknown
 * length that runs past the limit gets its connection destroyed.
 */
function prepareForNextRequest(req: IncomingMessage): boolean {
  if (req.complete) return true;
  const declaredBytes = toContentLength(req);
  if (declaredBytes !== null && declaredBytes > DRAIN_LIMIT_BYTES) {
    req.resume();
    return false;
  }
  let drainedBytes = 0;
  req.on('data', (chunk: Buffer) => {
    drainedBytes += chunk.length;
    if (drainedBytes > DRAIN_LIMIT_BYTES) req.socket.destroy();
  });
  req.resume();
  return true;
}

function toSuccessBody(result: IngestResult, format: BodyFormat): Uint8Array | string {
  if (format === 'protobuf') return encodeExportResponse(result.rejected, result.message);
  if (result.rejected === 0 && result.message === '') return '{}';
  // int64 fields are strings in proto3 JSON.
  return JSON.stringify({
    partialSuccess: { rejectedSpans: String(result.rejected), errorMessage: result.message },
  });
}

function replyStatus(
  res: ServerResponse,
  httpStatus: number,
  rpcCode: number,
  message: string,
  format: BodyFormat,
  closeAfter = false,
): void {
  const body = format === 'protobuf'
    ? encodeRpcStatus(rpcCode, message)
    : toRpcStatusJson(rpcCode, message);
  replyBody(res, httpStatus, format, body, closeAfter);
}

function replyBody(
  res: ServerResponse,
  httpStatus: number,
  format: BodyFormat,
  body: Uint8Array | string,
  closeAfter: boolean,
): void {
  if (res.headersSent || res.destroyed) return;
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.statusCode = httpStatus;
  res.setHeader('Content-Type', format === 'protobuf' ? PROTOBUF_TYPE : JSON_TYPE);
  res.setHeader('Content-Length', bytes.byteLength);
  if (closeAfter) res.setHeader('Connection', 'close');
  res.end(bytes);
}

/** The reply encoding: protobuf for protobuf requests, JSON for everything else. */
function toBodyFormat(contentType: string | undefined): BodyFormat {
  return toMediaType(contentType) === PROTOBUF_TYPE ? 'protobuf' : 'json';
}

/** The media type without parameters (`; charset=utf-8`), lower case. */
function toMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0].trim().toLowerCase();
}

function toBodyEncoding(contentEncoding: string | undefined): BodyEncoding | null {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return null;
  if (encoding === 'gzip' || encoding === 'deflate' || (encoding === 'zstd' && ZSTD_AVAILABLE)) return encoding;
  const zstdNote = encoding === 'zstd' ? ' (zstd needs Node.js 22.15 or later)' : '';
  throw new BetraceError(
    'ERR_RECEIVER_UNSUPPORTED_ENCODING',
    `unsupported content encoding "${encoding}"${zstdNote}; use ${ZSTD_AVAILABLE ? 'gzip, deflate, zstd' : 'gzip, deflate'} or none`,
  );
}

function toContentLength(req: IncomingMessage): number | null {
  const header = req.headers['content-length'];
  if (header === undefined) return null;
  const bytes = Number(header);
  return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : null;
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(
        new BetraceError(
          'ERR_PROCESSOR_STARTUP',
          `cannot listen on ${fromListenAddress(host, port)}: ${err.message}`,
          { cause: err },
        ),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

function closeServer(server: http.Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    // close() stops accepting; requests in progress are answered with
    // Connection: close; the timer cuts off whatever is left at the deadline.
    const timer = setTimeout(
      () => server.closeAllConnections(),
      Math.max(0, deadlineMs - Date.now()),
    );
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
