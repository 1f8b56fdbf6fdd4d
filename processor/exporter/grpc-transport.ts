/**
 * OTLP/gRPC towards the downstream: one grpc-js channel, raw bytes in and
 * out, so a forwarded request is never decoded or re-encoded.
 */

import * as grpc from '@grpc/grpc-js';

import { decodeRpcStatus, toAcceptedOutcome } from './wire';
import { toGrpcTarget } from './endpoint';
import { readTlsMaterial } from './tls-files';

import type { OtlpExporterConfig } from '../../config/types';
import type { AttemptOutcome, ExportTransport, PreparedRequest } from './transport';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const GZIP_ALGORITHM = 2;
const MAX_RECONNECT_BACKOFF_MS = 30_000;
const EMPTY = Buffer.alloc(0);

/**
 * The codes the OTLP spec lists as retryable
 * (https://opentelemetry.io/docs/specs/otlp/#failures). RESOURCE_EXHAUSTED
 * is retried even without RetryInfo: a downstream over its limits usually
 * recovers, and dropping data on its first refusal would be worse.
 */
const RETRYABLE_CODES: ReadonlySet<number> = new Set([
  grpc.status.CANCELLED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.ABORTED,
  grpc.status.OUT_OF_RANGE,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
]);

/** Creates the gRPC transport; throws at startup when a TLS file is unreadable. */
export function createGrpcTransport(config: OtlpExporterConfig): ExportTransport {
  const { target, useTls } = toGrpcTarget(config.endpoint, config.tls.insecure);
  const { retry } = config;
  const options: grpc.ChannelOptions = {
    // The receiver already bounded what it accepted; forwarding must not refuse it.
    'grpc.max_send_message_length': -1,
    // The retry loop owns retries; a second layer in grpc-js would multiply them.
    'grpc.enable_retries': 0,
    // The exporter owns its connection, so closing it never affects another channel.
    'grpc.use_local_subchannel_pool': 1,
    // Reconnect at least as eagerly as the retry loop retries, so that a
    // downstream that came back is not left waiting on grpc-js' 2-minute ceiling.
    'grpc.initial_reconnect_backoff_ms': clamp(retry.initialIntervalMs, 10, 1000),
    'grpc.max_reconnect_backoff_ms': clamp(
      retry.maxIntervalMs,
      10,
      MAX_RECONNECT_BACKOFF_MS,
    ),
  };
  if (config.compression === 'gzip') {
    options['grpc.default_compression_algorithm'] = GZIP_ALGORITHM;
  }

  let credentials = grpc.credentials.createInsecure();
  if (useTls) {
    const tls = readTlsMaterial(config.tls);
    credentials = grpc.credentials.createSsl(
      tls.ca ?? null,
      tls.key ?? null,
      tls.cert ?? null,
    );
    if (tls.serverName !== '') {
      options['grpc.ssl_target_name_override'] = tls.serverName;
      options['grpc.default_authority'] = tls.serverName;
    }
  }

  const client = new grpc.Client(target, credentials, options);
  const metadata = toMetadata(config.headers);

  return {
    target,
    prepare: async (request) => prepareCall(client, metadata, toBuffer(request)),
    close: () => client.close(),
  };
}

function prepareCall(
  client: grpc.Client,
  metadata: grpc.Metadata,
  body: Buffer,
): PreparedRequest {
  const identity = (bytes: Buffer): Buffer => bytes;
  return {
    attempt: (timeoutMs, signal) =>
      new Promise<AttemptOutcome>((resolve) => {
        // Filters add headers to the metadata they are given, so each call gets a copy.
        const call = client.makeUnaryRequest<Buffer, Buffer>(
          EXPORT_PATH,
          identity,
          identity,
          body,
          metadata.clone(),
          { deadline: Date.now() + timeoutMs },
          (err, response) => {
            signal.removeEventListener('abort', onAbort);
            resolve(err ? fromServiceError(err) : toAcceptedOutcome(response ?? EMPTY));
          },
        );
        const onAbort = (): void => call.cancel();
        signal.addEventListener('abort', onAbort, { once: true });
      }),
  };
}

function fromServiceError(err: grpc.ServiceError): AttemptOutcome {
  const code = err.code ?? grpc.status.UNKNOWN;
  const details = err.metadata?.get('grpc-status-details-bin')[0];
  const status = Buffer.isBuffer(details) ? decodeRpcStatus(details) : undefined;
  return {
    ok: false,
    retryable: RETRYABLE_CODES.has(code),
    timedOut: code === grpc.status.DEADLINE_EXCEEDED,
    status: grpc.status[code] ?? `CODE_${code}`,
    message: err.details || err.message,
    retryAfterMs: status?.retryDelayMs,
  };
}

function toMetadata(headers: Readonly<Record<string, string>>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    // gRPC carries `-bin` metadata as bytes; grpc-js refuses a string there.
    metadata.set(key, key.endsWith('-bin') ? Buffer.from(value) : value);
  }
  return metadata;
}

function toBuffer(bytes: Uint8Array): Buffer {
  // A view, not a copy: the request stays the one the receiver handed over.
  if (Buffer.isBuffer(bytes)) return bytes;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
