/**
 * A bounds-checked protobuf wire reader. Every read names the end of the
 * message it is inside, so a length that runs past its parent is caught where
 * it happens. Failures are BetraceError ERR_PROTO_MALFORMED with the byte
 * offset; callers prefix the field path (`withPath`).
 */

import { BetraceError } from '../processor/errors';

const TWO_POW_32 = 4294967296;
/** Unknown groups nested deeper than this are refused (skipping them recurses). */
const MAX_GROUP_DEPTH = 100;

/** Throws ERR_PROTO_MALFORMED for a problem found at `offset`. */
export function throwMalformed(reason: string, offset: number): never {
  throw new BetraceError('ERR_PROTO_MALFORMED', `${reason} at byte ${offset}`);
}

/**
 * Rethrows a malformed-protobuf error with the field path in front of its
 * message; any other error passes through unchanged.
 */
export function withPath(err: unknown, path: string): unknown {
  if (err instanceof BetraceError && err.code === 'ERR_PROTO_MALFORMED' && path !== '') {
    return new BetraceError(err.code, `${path}: ${err.message}`);
  }
  return err;
}

/** Reads protobuf fields from a byte array; `pos` is the next byte to read. */
export class WireReader {
  readonly buf: Uint8Array;
  pos: number;
  /** Low and high unsigned 32-bit halves of the last `varint64()` or `fixed64()`. */
  lo = 0;
  hi = 0;
  private groupDepth = 0;

  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  /**
   * Reads a varint and returns its low 32 bits as an unsigned number (int32
   * callers apply `| 0`). Up to ten bytes are consumed.
   */
  varint32(end: number): number {
    const buf = this.buf;
    let p = this.pos;
    if (p >= end) throwMalformed('truncated varint', p);
    let b = buf[p++];
    if (b < 0x80) {
      this.pos = p;
      return b;
    }
    let v = b & 0x7f;
    for (let shift = 7; shift < 35; shift += 7) {
      if (p >= end) throwMalformed('truncated varint', p);
      b = buf[p++];
      v |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = p;
        return v >>> 0;
      }
    }
    // Bytes six to ten only carry bits above 32: consume and drop them.
    for (let i = 5; i < 10; i++) {
      if (p >= end) throwMalformed('truncated varint', p);
      if (buf[p++] < 0x80) {
        this.pos = p;
        return v >>> 0;
      }
    }
    return throwMalformed('varint longer than ten bytes', this.pos);
  }

  /** Reads a full 64-bit varint into `lo` and `hi`. */
  varint64(end: number): void {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let i = 0; i < 10; i++) {
      if (p >= end) throwMalformed('truncated varint', p);
      b = buf[p++];
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        this.pos = p;
        return;
      }
    }
    throwMalformed('varint longer than ten bytes', start);
  }

  /** Reads a field key; returns 0 at the end of the message. */
  tag(end: number): number {
    if (this.pos >= end) return 0;
    const at = this.pos;
    const key = this.varint32(end);
    if (key < 8) throwMalformed(`field number 0 (key ${key})`, at);
    return key;
  }

  /**
   * Reads the length of a length-delimited field and returns where its body
   * ends; the body starts at `pos`.
   */
  lengthEnd(end: number): number {
    const at = this.pos;
    const buf = this.buf;
    let len: number;
    let p = at;
    if (p < end && buf[p] < 0x80) {
      len = buf[p];
      this.pos = p + 1;
    } else {
      this.varint64(end);
      if (this.hi !== 0) throwMalformed('length past the end of the message', at);
      len = this.lo;
    }
    const bodyEnd = this.pos + len;
    if (bodyEnd > end) {
      const left = end - this.pos;
      throwMalformed(`length ${len} past the end of the message (${left} bytes left)`, at);
    }
    return bodyEnd;
  }

  /** Reads eight little-endian bytes into `lo` and `hi`. */
  fixed64(end: number): void {
    const p = this.pos;
    if (p + 8 > end) throwMalformed('truncated fixed64', p);
    const b = this.buf;
    this.lo = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
    this.hi = (b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24)) >>> 0;
    this.pos = p + 8;
  }

  /** Reads four little-endian bytes as an unsigned number. */
  fixed32(end: number): number {
    const p = this.pos;
    if (p + 4 > end) throwMalformed('truncated fixed32', p);
    const b = this.buf;
    this.pos = p + 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  /** Reads a little-endian IEEE 754 double. */
  double(end: number): number {
    this.fixed64(end);
    return toDouble(this.lo, this.hi);
  }

  /** Skips the value of a field of an unknown number (groups included). */
  skip(key: number, end: number): void {
    const wireType = key & 7;
    const at = this.pos;
    switch (wireType) {
      case 0:
        this.varint64(end);
        return;
      case 1:
        if (at + 8 > end) throwMalformed('truncated fixed64', at);
        this.pos = at + 8;
        return;
      case 2:
        this.pos = this.lengthEnd(end);
        return;
      case 3:
        this.skipGroup(key >>> 3, end);
        return;
      case 5:
        if (at + 4 > end) throwMalformed('truncated fixed32', at);
        this.pos = at + 4;
        return;
      case 4:
        return throwMalformed(`end of group without a start (field ${key >>> 3})`, at);
      default:
        return throwMalformed(`invalid wire type ${wireType} (field ${key >>> 3})`, at);
    }
  }

  /** Fails with a wire-type message for a known field read with the wrong type. */
  wrongType(key: number, field: string, expected: number): never {
    return throwMalformed(
      `${field} has wire type ${key & 7}, expected ${expected}`,
      this.pos,
    );
  }

  private skipGroup(field: number, end: number): void {
    // A group ends at the end-group key with its own field number; nested
    // groups are skipped through the recursion in skip(), so its depth is bounded.
    if (++this.groupDepth > MAX_GROUP_DEPTH) {
      throwMalformed(`groups nested deeper than ${MAX_GROUP_DEPTH} levels`, this.pos);
    }
    for (;;) {
      const at = this.pos;
      if (at >= end) throwMalformed(`unterminated group (field ${field})`, at);
      const key = this.tag(end);
      if ((key & 7) === 4) {
        if (key >>> 3 !== field) throwMalformed(`mismatched end of group (field ${key >>> 3})`, at);
        this.groupDepth--;
        return;
      }
      this.skip(key, end);
    }
  }
}

const scratch = new DataView(new ArrayBuffer(8));

/** The double whose IEEE 754 bits are `hi:lo`. */
export function toDouble(lo: number, hi: number): number {
  scratch.setUint32(0, lo, true);
  scratch.setUint32(4, hi, true);
  return scratch.getFloat64(0, true);
}

/** The unsigned 64-bit value `hi:lo` as a bigint. */
export function toUint64(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** The signed 64-bit value `hi:lo` in exact decimal. */
export function toInt64Text(lo: number, hi: number): string {
  // Values that fit in 53 bits (either sign) print through doubles, exactly.
  if (hi < 0x200000) return String(hi * TWO_POW_32 + lo);
  if (hi >= 0xffe00000) {
    return String(-((0xffffffff - hi) * TWO_POW_32 + (TWO_POW_32 - lo)));
  }
  return BigInt.asIntN(64, toUint64(lo, hi)).toString();
}

/** The unsigned 64-bit value `hi:lo` in exact decimal. */
export function toUint64Text(lo: number, hi: number): string {
  if (hi < 0x200000) return String(hi * TWO_POW_32 + lo);
  return toUint64(lo, hi).toString();
}
