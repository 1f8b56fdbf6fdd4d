/**
 * How a receiver answers a failed request: the metric reason, the gRPC status
 * (also the google.rpc.Code of HTTP error bodies) and the HTTP status, from the
 * error that failed it. Mapping as the Collector's OTLP receiver does it: bad
 * input is permanent, pushback is retryable, anything unclassified is internal.
 * See "Failures" in
 * https://github.com/open-telemetry/opentelemetry-proto/blob/main/docs/specification.md
 */

import { BetraceError } from '../errors';
import { IngestRefusedError } from './ingest';

import type { RequestRefusalReason } from './metrics';

/** google.rpc.Code values used by the receivers (the gRPC status numbers). */
export const RPC_CODE = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** The receivers' Retry-After when the pipeline gives no hint. */
export const DEFAULT_RETRY_AFTER_MS = 1000;

/** The answer to one refused request. */
export interface Refusal {
  readonly reason: RequestRefusalReason;
  /** gRPC status code, also the `code` of an HTTP google.rpc.Status body. */
  readonly rpcCode: number;
  readonly httpStatus: number;
  /** Text for the sender: the error's own message, or a generic one for internal errors. */
  readonly message: string;
  /** Spans in the refused request when the pipeline said so; null otherwise. */
  readonly spans: number | null;
  /** Retry hint for retryable refusals in milliseconds; 0 when the sender must not retry. */
  readonly retryAfterMs: number;
}

const INTERNAL_MESSAGE = 'internal error while accepting the request';

/** Classifies any rejection of a request into the answer its sender gets. */
export function toRefusal(err: unknown): Refusal {
  if (!(err instanceof BetraceError)) {
    return refusal('internal', RPC_CODE.INTERNAL, 500, INTERNAL_MESSAGE, null, 0);
  }
  const spans = err instanceof IngestRefusedError ? err.spans : null;
  const hintMs = err instanceof IngestRefusedError && err.retryAfterMs > 0
    ? err.retryAfterMs
    : DEFAULT_RETRY_AFTER_MS;
  switch (err.code) {
    case 'ERR_RECEIVER_BODY_TOO_LARGE':
      return refusal('too_large', RPC_CODE.RESOURCE_EXHAUSTED, 413, err.message, spans, 0);
    case 'ERR_RECEIVER_BAD_GZIP':
      return refusal('bad_gzip', RPC_CODE.INVALID_ARGUMENT, 400, err.message, spans, 0);
    case 'ERR_RECEIVER_UNSUPPORTED_MEDIA_TYPE': {
      const code = RPC_CODE.INVALID_ARGUMENT;
      return refusal('unsupported_media_type', code, 415, err.message, spans, 0);
    }
    case 'ERR_RECEIVER_EXPORT_LOOP':
      return refusal('export_loop', RPC_CODE.INVALID_ARGUMENT, 400, err.message, spans, 0);
    case 'ERR_RECEIVER_UNSUPPORTED_ENCODING':
      return refusal('unsupported_encoding', RPC_CODE.INVALID_ARGUMENT, 400, err.message, spans, 0);
    // These two are pushback by definition, whatever `retryable` says.
    case 'ERR_RECEIVER_QUEUE_FULL':
      return refusal('queue_full', RPC_CODE.UNAVAILABLE, 503, err.message, spans, hintMs);
    case 'ERR_RECEIVER_SHUTTING_DOWN':
      return refusal('shutting_down', RPC_CODE.UNAVAILABLE, 503, err.message, spans, hintMs);
    default:
      return err.retryable
        ? refusal('unavailable', RPC_CODE.UNAVAILABLE, 503, err.message, spans, hintMs)
        : refusal('malformed', RPC_CODE.INVALID_ARGUMENT, 400, err.message, spans, 0);
  }
}

/** Seconds for an HTTP Retry-After header: whole seconds, at least 1. */
export function toRetryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}

function refusal(
  reason: RequestRefusalReason,
  rpcCode: number,
  httpStatus: number,
  message: string,
  spans: number | null,
  retryAfterMs: number,
): Refusal {
  return { reason, rpcCode, httpStatus, message, spans, retryAfterMs };
}
