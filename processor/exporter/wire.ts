/**
 * What the exporter reads back from a downstream: the partial success of an
 * ExportTraceServiceResponse, and the google.rpc.Status of an error (its
 * message and an optional RetryInfo delay), read by hand because no codec of
 * the project covers google.rpc messages.
 */

import { decodeExportResponse } from '../../proto/export-response';

import type { AttemptAccepted } from './transport';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;
const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';
const FULL_SUCCESS: AttemptAccepted = { ok: true, rejectedSpans: 0, message: '' };

/** The parts of a google.rpc.Status the exporter uses. */
export interface RpcStatus {
  readonly code: number;
  readonly message: string;
  /** From a RetryInfo detail; undefined when there is none. */
  readonly retryDelayMs?: number;
}

/**
 * The accepted outcome for a response body, with its partial success.
 * Malformed bytes count as a full success: the downstream already accepted
 * the request, so there is nothing to retry.
 */
export function toAcceptedOutcome(bytes: Uint8Array): AttemptAccepted {
  if (bytes.length === 0) return FULL_SUCCESS;
  try {
    const response = decodeExportResponse(bytes);
    return { ok: true, rejectedSpans: response.rejected, message: response.message };
  } catch {
    return FULL_SUCCESS;
  }
}

/** Reads a google.rpc.Status; undefined when the bytes are not one. */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatus | undefined {
  let code = 0;
  let message = '';
  let retryDelayMs: number | undefined;
  try {
    forEachField(bytes, 0, bytes.length, (field, wire, start, end, value) => {
      if (field === 1 && wire === WIRE_VARINT) code = value;
      if (field === 2 && wire === WIRE_LENGTH) message = utf8(bytes, start, end);
      if (field === 3 && wire === WIRE_LENGTH) {
        retryDelayMs = readRetryInfo(bytes, start, end) ?? retryDelayMs;
      }
    });
  } catch {
    return undefined;
  }
  return { code, message, retryDelayMs };
}

/** google.protobuf.Any holding google.rpc.RetryInfo { Duration retry_delay = 1 }. */
function readRetryInfo(
  bytes: Uint8Array,
  start: number,
  end: number,
): number | undefined {
  let typeUrl = '';
  let valueStart = -1;
  let valueEnd = -1;
  forEachField(bytes, start, end, (field, wire, s, e) => {
    if (field === 1 && wire === WIRE_LENGTH) typeUrl = utf8(bytes, s, e);
    if (field === 2 && wire === WIRE_LENGTH) {
      valueStart = s;
      valueEnd = e;
    }
  });
  if (typeUrl !== RETRY_INFO_TYPE || valueStart < 0) return undefined;

  let delayMs: number | undefined;
  forEachField(bytes, valueStart, valueEnd, (field, wire, s, e) => {
    if (field !== 1 || wire !== WIRE_LENGTH) return;
    let seconds = 0;
    let nanos = 0;
    forEachField(bytes, s, e, (f, w, _s, _e, v) => {
      if (f === 1 && w === WIRE_VARINT) seconds = v;
      if (f === 2 && w === WIRE_VARINT) nanos = v;
    });
    delayMs = seconds * 1000 + Math.floor(nanos / 1e6);
  });
  return delayMs;
}

type FieldVisitor = (
  field: number,
  wire: number,
  start: number,
  end: number,
  value: number,
) => void;

/**
 * Calls `visit` for each field between start and end. Varints are passed as
 * numbers (exact up to 2^53, enough for counts and durations); length fields
 * as their byte range. Throws on truncated input.
 */
function forEachField(
  bytes: Uint8Array,
  start: number,
  end: number,
  visit: FieldVisitor,
): void {
  let pos = start;
  while (pos < end) {
    const [key, afterKey] = readVarint(bytes, pos, end);
    pos = afterKey;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === WIRE_VARINT) {
      const [value, next] = readVarint(bytes, pos, end);
      visit(field, wire, pos, next, value);
      pos = next;
    } else if (wire === WIRE_LENGTH) {
      const [length, next] = readVarint(bytes, pos, end);
      if (next + length > end) throw new RangeError('truncated field');
      visit(field, wire, next, next + length, 0);
      pos = next + length;
    } else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
      pos += wire === WIRE_FIXED64 ? 8 : 4;
      if (pos > end) throw new RangeError('truncated field');
    } else {
      throw new RangeError(`unsupported wire type ${wire}`);
    }
  }
}

function readVarint(bytes: Uint8Array, pos: number, end: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new RangeError('truncated varint');
    const byte = bytes[pos++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, pos];
    scale *= 128;
  }
  throw new RangeError('varint too long');
}

function utf8(bytes: Uint8Array, start: number, end: number): string {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start);
  return view.toString('utf8');
}
