/**
 * A protobuf writer over one growing buffer. Nested messages are written in
 * place: `begin()` reserves one length byte, `end()` fills it in and shifts
 * the body when the length needs more bytes, so the output carries minimal
 * varints (byte-equal to what other encoders produce) without a size pass.
 */

const UINT64_MASK = (1n << 64n) - 1n;

/** Wire type of varint fields (ints, bools, enums). */
export const WIRE_VARINT = 0;
/** Wire type of eight-byte fields (fixed64, double). */
export const WIRE_FIXED64 = 1;
/** Wire type of length-delimited fields (strings, bytes, messages). */
export const WIRE_LEN = 2;
/** Wire type of four-byte fields (fixed32, float). */
export const WIRE_FIXED32 = 5;

/** Appends protobuf fields to a buffer; `finish()` returns a copy of what was written. */
export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 1024) {
    // allocUnsafeSlow keeps the buffer out of Node's shared pool, which a
    // long-lived writer would otherwise pin.
    this.buf = Buffer.allocUnsafeSlow(Math.max(64, initialBytes));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** Forgets what was written, keeping the buffer for reuse. */
  reset(): void {
    this.pos = 0;
  }

  /** Drops everything written after the first `length` bytes. */
  truncate(length: number): void {
    if (length < this.pos) this.pos = length;
  }

  /** Writes a field key: field number and wire type. */
  tag(field: number, wireType: number): void {
    this.uint32(field * 8 + wireType);
  }

  /** Writes an unsigned varint of at most 32 bits. */
  uint32(value: number): void {
    this.ensure(5);
    const buf = this.buf;
    let v = value >>> 0;
    let p = this.pos;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p++] = v;
    this.pos = p;
  }

  /** Writes a signed 32-bit varint (negative values take ten bytes, as int32 requires). */
  int32(value: number): void {
    if (value >= 0) this.uint32(value);
    else this.varint64Parts(value >>> 0, 0xffffffff);
  }

  /** Writes a 64-bit varint from a bigint (negative values as two's complement). */
  varint64(value: bigint): void {
    const u = BigInt.asUintN(64, value);
    this.varint64Parts(Number(u & 0xffffffffn), Number(u >> 32n));
  }

  /** Writes a 64-bit varint from its low and high unsigned 32-bit halves. */
  varint64Parts(lo: number, hi: number): void {
    if (hi === 0) {
      this.uint32(lo);
      return;
    }
    this.ensure(10);
    const buf = this.buf;
    let p = this.pos;
    let l = lo >>> 0;
    let h = hi >>> 0;
    while (h !== 0 || l >= 0x80) {
      buf[p++] = (l & 0x7f) | 0x80;
      l = ((l >>> 7) | (h << 25)) >>> 0;
      h >>>= 7;
    }
    buf[p++] = l;
    this.pos = p;
  }

  /** Writes eight little-endian bytes from a bigint (taken modulo 2^64). */
  fixed64(value: bigint): void {
    const u = value & UINT64_MASK;
    this.fixed64Parts(Number(u & 0xffffffffn), Number(u >> 32n));
  }

  /** Writes eight little-endian bytes from the low and high 32-bit halves. */
  fixed64Parts(lo: number, hi: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(lo >>> 0, this.pos);
    this.buf.writeUInt32LE(hi >>> 0, this.pos + 4);
    this.pos += 8;
  }

  /** Writes four little-endian bytes. */
  fixed32(value: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  /** Writes an IEEE 754 double, little-endian. */
  double(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** Writes a length-prefixed byte string. */
  bytes(value: Uint8Array): void {
    this.uint32(value.length);
    this.raw(value);
  }

  /** Writes a length-prefixed byte string given as hex (the caller checked the digits). */
  hexBytes(hex: string): void {
    const len = hex.length >>> 1;
    this.uint32(len);
    this.ensure(len);
    this.buf.write(hex, this.pos, len, 'hex');
    this.pos += len;
  }

  /** Writes bytes as they are, with no length prefix. */
  raw(value: Uint8Array, start = 0, end = value.length): void {
    const n = end - start;
    this.ensure(n);
    const part = start === 0 && end === value.length ? value : value.subarray(start, end);
    this.buf.set(part, this.pos);
    this.pos += n;
  }

  /** Writes a length-prefixed UTF-8 string (lone surrogates become U+FFFD). */
  string(value: string): void {
    const n = value.length;
    // Three bytes per UTF-16 unit is the worst case; below 43 units the
    // length fits in one byte, so the text is written once without measuring.
    if (n < 43) {
      this.ensure(1 + n * 3);
      const written = n === 0 ? 0 : this.buf.write(value, this.pos + 1, 'utf8');
      this.buf[this.pos] = written;
      this.pos += 1 + written;
      return;
    }
    const len = Buffer.byteLength(value, 'utf8');
    this.uint32(len);
    this.ensure(len);
    this.buf.write(value, this.pos, len, 'utf8');
    this.pos += len;
  }

  /** Starts a length-delimited body; pass the mark to `end()` when it is complete. */
  begin(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Completes the body started at `mark`, writing its length in front of it. */
  end(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 0x80) {
      this.buf[mark] = len;
      return;
    }
    const extra = varintSize(len) - 1;
    this.ensure(extra);
    this.buf.copyWithin(mark + 1 + extra, mark + 1, this.pos);
    let v = len;
    let p = mark;
    while (v >= 0x80) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
    this.pos += extra;
  }

  /** A copy of everything written. */
  finish(): Buffer {
    const out = Buffer.allocUnsafeSlow(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

/** Bytes taken by an unsigned varint below 2^53. */
export function varintSize(value: number): number {
  let n = 1;
  let v = value;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}
