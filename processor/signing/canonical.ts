/**
 * The bytes a span signature is computed over (version 1). docs/signing.md
 * describes the same layout for auditors who check signatures with their
 * own code; the two must stay in step, and a change of layout is a new
 * version tag, never an edit of this one.
 *
 * Layout, where field(x) is the 4-byte big-endian length of x followed by x,
 * and strings are UTF-8:
 *
 *   field("betrace-span-signature-v1")
 *   field(key id)
 *   field(trace ID, ASCII lower case)  field(span ID, ASCII lower case)
 *   field(name)  field(start time in ns, decimal)
 *   uint32 count of covered attributes
 *   per covered attribute, sorted by the UTF-8 bytes of the key:
 *     field(key)  one type byte  the value
 *
 * Values: `s` field(string); `b` one byte 1 or 0; `i` field(decimal
 * integer); `d` 8 bytes IEEE 754 binary64 big-endian, with every NaN
 * written as 7ff8000000000000 and -0 as 0; `a` uint32 count then
 * field(string) per element.
 */

/** Attribute holding the signature, base64 of the 32 HMAC bytes. */
export const SIGNATURE_ATTRIBUTE = 'betrace.signature';
/** Attribute naming the algorithm; the only value is SIGNATURE_ALGORITHM. */
export const ALGORITHM_ATTRIBUTE = 'betrace.signature.algorithm';
/** Attribute naming the key that signed the span. */
export const KEY_ID_ATTRIBUTE = 'betrace.signature.key_id';
export const SIGNATURE_ALGORITHM = 'HMAC-SHA256';
/** Leading domain-separation tag: these bytes can mean nothing but a v1 span signature. */
export const CANONICAL_VERSION_TAG = 'betrace-span-signature-v1';

/**
 * An attribute value as the processor's output spans carry it: number is
 * an OTLP double, bigint an OTLP int.
 */
export type SignedAttributeValue = string | boolean | number | bigint | readonly string[];

/** The span fields a signature covers. */
export interface SignableSpan {
  /** 32 hex characters. */
  readonly traceId: string;
  /** 16 hex characters. */
  readonly spanId: string;
  readonly name: string;
  readonly startNs: bigint;
  readonly attributes: ReadonlyArray<readonly [string, SignedAttributeValue]>;
}

const TAG_STRING = 0x73; // 's'
const TAG_BOOL = 0x62; // 'b'
const TAG_INT = 0x69; // 'i'
const TAG_DOUBLE = 0x64; // 'd'
const TAG_ARRAY = 0x61; // 'a'

const VERSION_TAG_BYTES = Buffer.from(CANONICAL_VERSION_TAG, 'ascii');

/** True for the three attributes that carry the signature itself (never covered). */
export function isSignatureAttribute(key: string): boolean {
  return key === SIGNATURE_ATTRIBUTE || key === ALGORITHM_ATTRIBUTE || key === KEY_ID_ATTRIBUTE;
}

/** True for an attribute the signature covers: `betrace.*` and `compliance.*` but the signature's own. */
export function isCoveredAttribute(key: string): boolean {
  return (key.startsWith('betrace.') || key.startsWith('compliance.')) && !isSignatureAttribute(key);
}

/** The canonical bytes of `span` for a signature by the key `keyId`. */
export function toCanonicalBytes(span: SignableSpan, keyId: string): Buffer {
  const out = new ChunkWriter();
  out.field(VERSION_TAG_BYTES);
  out.string(keyId);
  out.string(asciiLowerCase(span.traceId));
  out.string(asciiLowerCase(span.spanId));
  out.string(span.name);
  out.string(span.startNs.toString(10));

  const covered: Array<{ key: Buffer; value: SignedAttributeValue }> = [];
  for (const [key, value] of span.attributes) {
    if (isCoveredAttribute(key)) covered.push({ key: Buffer.from(key, 'utf8'), value });
  }
  // Byte order of UTF-8, not JS string order (UTF-16 units), which differs
  // above U+FFFF. The sort is stable, so repeated keys keep their order.
  covered.sort((a, b) => Buffer.compare(a.key, b.key));
  out.uint32(covered.length);
  for (const { key, value } of covered) {
    out.field(key);
    writeValue(out, value);
  }
  return out.toBuffer();
}

function writeValue(out: ChunkWriter, value: SignedAttributeValue): void {
  if (typeof value === 'string') {
    out.byte(TAG_STRING);
    out.string(value);
  } else if (typeof value === 'boolean') {
    out.byte(TAG_BOOL);
    out.byte(value ? 1 : 0);
  } else if (typeof value === 'bigint') {
    out.byte(TAG_INT);
    out.string(value.toString(10));
  } else if (typeof value === 'number') {
    out.byte(TAG_DOUBLE);
    out.double(value);
  } else {
    out.byte(TAG_ARRAY);
    out.uint32(value.length);
    for (const element of value) out.string(element);
  }
}

/** Lower-cases A-Z only, so that the rule is the same in every language. */
function asciiLowerCase(text: string): string {
  return text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/** Collects the pieces and joins them once; signed spans are few and small. */
class ChunkWriter {
  private readonly chunks: Buffer[] = [];

  byte(value: number): void {
    this.chunks.push(Buffer.from([value]));
  }

  uint32(value: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(value, 0);
    this.chunks.push(b);
  }

  field(bytes: Buffer): void {
    this.uint32(bytes.length);
    this.chunks.push(bytes);
  }

  string(text: string): void {
    // Lone surrogates become U+FFFD here exactly as they do on the wire,
    // so the signed bytes are the bytes a reader of the export sees.
    this.field(Buffer.from(text, 'utf8'));
  }

  double(value: number): void {
    const b = Buffer.allocUnsafe(8);
    // One NaN and one zero: JSON writers and readers do not all keep NaN
    // payloads or the sign of zero, and neither is a change of meaning.
    if (Number.isNaN(value)) {
      b.writeUInt32BE(0x7ff80000, 0);
      b.writeUInt32BE(0, 4);
    } else {
      b.writeDoubleBE(value === 0 ? 0 : value, 0);
    }
    this.chunks.push(b);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
