/**
 * ExportTraceServiceResponse: what a receiver answers, and what the exporter
 * reads back from downstream. Field numbers: proto/otlp/trace-service.proto.
 */

import { ProtoWriter, WIRE_LEN, WIRE_VARINT } from './proto-writer';
import { WireReader, toInt64Text, withPath } from './wire-reader';

/** The partial-success part of an export response. */
export interface ExportResponse {
  /** Spans the receiver refused (`partial_success.rejected_spans`). */
  readonly rejected: number;
  /** Why (`partial_success.error_message`); '' when none. */
  readonly message: string;
}

const EMPTY = new Uint8Array(0);

/**
 * Encodes a response; 0 rejected and an empty message give the empty
 * response (no partial_success), which means full success.
 */
export function encodeExportResponse(rejected: number, message: string): Uint8Array {
  if (rejected === 0 && message === '') return EMPTY;
  const w = new ProtoWriter(32 + message.length * 3);
  w.tag(1, WIRE_LEN);
  const mark = w.begin();
  if (rejected !== 0) {
    w.tag(1, WIRE_VARINT);
    w.varint64(BigInt(Math.trunc(rejected)));
  }
  if (message !== '') {
    w.tag(2, WIRE_LEN);
    w.string(message);
  }
  w.end(mark);
  return w.finish();
}

/**
 * Decodes a response; a missing partial_success reads as 0 and ''. Unknown
 * fields are skipped. Throws ERR_PROTO_MALFORMED when the bytes do not parse.
 */
export function decodeExportResponse(bytes: Uint8Array): ExportResponse {
  const r = new WireReader(bytes);
  let rejected = 0;
  let message = '';
  const end = bytes.length;
  try {
    for (let key = r.tag(end); key !== 0; key = r.tag(end)) {
      if (key >>> 3 !== 1) {
        r.skip(key, end);
        continue;
      }
      if ((key & 7) !== WIRE_LEN) r.wrongType(key, 'partial_success', WIRE_LEN);
      const bodyEnd = r.lengthEnd(end);
      // Repeated occurrences of a message field merge, so later values win.
      for (let k = r.tag(bodyEnd); k !== 0; k = r.tag(bodyEnd)) {
        const field = k >>> 3;
        if (field === 1) {
          if ((k & 7) !== WIRE_VARINT) {
            r.wrongType(k, 'partial_success.rejected_spans', WIRE_VARINT);
          }
          r.varint64(bodyEnd);
          rejected = Number(toInt64Text(r.lo, r.hi));
        } else if (field === 2) {
          if ((k & 7) !== WIRE_LEN) r.wrongType(k, 'partial_success.error_message', WIRE_LEN);
          const strEnd = r.lengthEnd(bodyEnd);
          const view = Buffer.from(bytes.buffer, bytes.byteOffset + r.pos, strEnd - r.pos);
          message = view.toString('utf8');
          r.pos = strEnd;
        } else {
          r.skip(k, bodyEnd);
        }
      }
    }
  } catch (err) {
    throw withPath(err, 'ExportTraceServiceResponse');
  }
  return { rejected, message };
}
