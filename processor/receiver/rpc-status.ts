/**
 * google.rpc.Status, the error body of OTLP/HTTP and the
 * `grpc-status-details-bin` trailer of gRPC, written by hand: three small
 * messages do not justify a codec. Field numbers follow
 * google/rpc/status.proto, google/rpc/error_details.proto (RetryInfo) and
 * google/protobuf/duration.proto.
 */

const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/**
 * Encodes a google.rpc.Status: field 1 code, field 2 message and, when
 * `retryDelayMs` is given, field 3 holding one Any with a RetryInfo
 * (the throttling hint of the OTLP specification, section "Failures").
 */
export function encodeRpcStatus(code: number, message: string, retryDelayMs?: number): Buffer {
  const parts: Buffer[] = [];
  if (code !== 0) parts.push(varintField(1, code));
  if (message !== '') parts.push(bytesField(2, Buffer.from(message, 'utf8')));
  if (retryDelayMs !== undefined) parts.push(bytesField(3, encodeRetryInfoAny(retryDelayMs)));
  return Buffer.concat(parts);
}

/** The OTLP/JSON form of a google.rpc.Status (proto3 JSON mapping, no details). */
export function toRpcStatusJson(code: number, message: string): string {
  return JSON.stringify({ code, message });
}

function encodeRetryInfoAny(retryDelayMs: number): Buffer {
  const wholeMs = Math.max(0, Math.round(retryDelayMs));
  const seconds = Math.floor(wholeMs / 1000);
  const nanos = (wholeMs % 1000) * 1_000_000;
  const duration = Buffer.concat([
    seconds !== 0 ? varintField(1, seconds) : Buffer.alloc(0),
    nanos !== 0 ? varintField(2, nanos) : Buffer.alloc(0),
  ]);
  const retryInfo = bytesField(1, duration);
  return Buffer.concat([
    bytesField(1, Buffer.from(RETRY_INFO_TYPE_URL, 'utf8')),
    bytesField(2, retryInfo),
  ]);
}

function varintField(field: number, value: number): Buffer {
  return Buffer.concat([encodeVarint((field << 3) | 0), encodeVarint(value)]);
}

function bytesField(field: number, value: Buffer): Buffer {
  return Buffer.concat([encodeVarint((field << 3) | 2), encodeVarint(value.length), value]);
}

// Handles the non-negative values used here (codes, lengths, durations);
// negative int32 codes never occur in google.rpc.Code.
function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
