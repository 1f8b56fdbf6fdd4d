/**
 * Receiver codes beyond those already in processor/errors.ts
 * (ERR_RECEIVER_QUEUE_FULL, _BODY_TOO_LARGE, _BAD_GZIP,
 * _UNSUPPORTED_MEDIA_TYPE, _SHUTTING_DOWN), with what each means.
 */

/** Codes the receivers raise that the processor registry does not list yet. */
export const RECEIVER_ERRORS = {
  ERR_RECEIVER_UNSUPPORTED_ENCODING:
    'an OTLP/HTTP request with a Content-Encoding other than gzip, deflate, zstd (Node.js 22.15 or later) or identity (HTTP 400)',
  ERR_RECEIVER_EXPORT_LOOP:
    "a request that this processor exported itself came back to its receiver: exporters.otlp.endpoint leads back to it (gRPC INVALID_ARGUMENT, HTTP 400)",
  ERR_RECEIVER_CLIENT_ABORTED:
    'the sender closed the connection before its request body was complete; nothing is answered',
} as const;
