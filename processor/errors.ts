/**
 * The error type every part of the processor throws or reports, and the one
 * registry of error codes (`ERR_<AREA>_<WHAT>`). Each area keeps its codes
 * beside its code; docs/errors.md is generated from this registry and a test
 * checks that the two agree. Retired codes are never reused.
 */

import { CONFIG_ERRORS } from '../config/errors';
import { DSL_ERRORS } from '../dsl/errors';
import { PROTO_ERRORS } from '../proto/errors';
import { ADMIN_ERRORS } from './admin/errors';
import { EXPORTER_ERRORS } from './exporter/errors';
import { REDIS_ERRORS } from './fleet/errors';
import { RECEIVER_ERRORS } from './receiver/errors';
import { SIGNING_ERRORS } from './signing/errors';

/** Codes of the processor's own runtime (receivers, buffer, exporter, admin). */
export const PROCESSOR_ERRORS = {
  ERR_RECEIVER_QUEUE_FULL:
    'the exporter queue is full; the sender should retry later (gRPC UNAVAILABLE, HTTP 503)',
  ERR_RECEIVER_BODY_TOO_LARGE:
    'a request body is over the configured limit, before or after decompression (gRPC RESOURCE_EXHAUSTED, HTTP 413)',
  ERR_RECEIVER_BAD_GZIP:
    'a request body does not inflate as its Content-Encoding says (gzip, deflate, zstd; HTTP 400; over gRPC the transport answers INTERNAL, not retryable)',
  ERR_RECEIVER_UNSUPPORTED_MEDIA_TYPE:
    'an OTLP/HTTP request with a content type other than protobuf or JSON (HTTP 415)',
  ERR_RECEIVER_SHUTTING_DOWN:
    'the processor is stopping and takes no more data (gRPC UNAVAILABLE, HTTP 503)',
  ERR_EXPORTER_SEND_FAILED:
    'the downstream endpoint refused or did not answer an export',
  ERR_EXPORTER_PERMANENT:
    'the downstream endpoint rejected an export as malformed; it is dropped, not retried',
  ERR_EXPORTER_TIMEOUT: 'an export attempt took longer than exporters.otlp.timeout',
  ERR_PROCESSOR_STARTUP: 'the processor could not start (a port in use, a file unreadable)',
  ERR_PROCESSOR_RULES_DO_NOT_COMPILE:
    'a configured rule file has errors; the processor does not start on a partial rule set',
} as const;

/** Every code the product can report, with what it means. */
export const ERROR_CODES: Readonly<Record<string, string>> = {
  ...DSL_ERRORS,
  ...CONFIG_ERRORS,
  ...PROTO_ERRORS,
  ...RECEIVER_ERRORS,
  ...EXPORTER_ERRORS,
  ...SIGNING_ERRORS,
  ...ADMIN_ERRORS,
  ...REDIS_ERRORS,
  ...PROCESSOR_ERRORS,
};

export { BetraceError } from './betrace-error';
export type { BetraceErrorOptions } from './betrace-error';
