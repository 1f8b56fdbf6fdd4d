/**
 * Recognisers of the layouts that encoders write, for the span decoder's
 * fast path (decode-request.ts).
 *
 * Encoders write each message's fields once, in field-number order, with
 * short lengths and one member per AnyValue. These functions recognise such
 * bytes with plain reads and no state, several times cheaper than the
 * general reader. They never fail: anything else (another layout, a byte of
 * 0x80 or above, a truncation) answers "not plain", and the general reader
 * then decides, so both paths agree on every input. A "plain" answer on a
 * KeyValue or Event also means that its strings are valid UTF-8, because
 * they are ASCII.
 */

// Wire keys (field number * 8 + wire type).
const K1_LEN = 0x0a;
const K2_LEN = 0x12;
const K3_LEN = 0x1a;
const STRING_VALUE = 0x0a;
const BOOL_VALUE = 0x10;
const INT_VALUE = 0x18;
const DOUBLE_VALUE = 0x21;
const EVENT_TIME = 0x09;
const EVENT_DROPPED = 0x20;

/**
 * Whether every byte from `start` to `end` is below 0x80. Four bytes at a
 * time through unaligned 32-bit reads, the last one overlapping the one
 * before instead of a loop over the tail: a byte loop costs about twice as
 * much on the short strings of attributes. `view` covers the same bytes as
 * `buf`.
 */
export function isAscii(buf: Uint8Array, view: DataView, start: number, end: number): boolean {
  let acc = 0;
  if (end - start >= 4) {
    const last = end - 4;
    for (let i = start; i < last; i += 4) acc |= view.getInt32(i, true);
    acc |= view.getInt32(last, true);
  } else {
    for (let i = start; i < end; i++) acc |= buf[i];
  }
  return (acc & 0x80808080) === 0;
}

/**
 * Where the AnyValue of the KeyValue from `start` to `end` begins when the
 * key comes first, shorter than 128 bytes, followed by the value (a length
 * of one or two bytes) running exactly to `end`; -1 otherwise. The key is
 * then at `start + 2`, `buf[start + 1]` bytes long.
 */
export function plainValueStart(buf: Uint8Array, start: number, end: number): number {
  if (end - start < 4 || buf[start] !== K1_LEN) return -1;
  const keyLength = buf[start + 1];
  const keyEnd = start + 2 + keyLength;
  if (keyLength >= 0x80 || keyEnd + 2 > end || buf[keyEnd] !== K2_LEN) return -1;
  return plainBodyStart(buf, keyEnd + 1, end);
}

/**
 * Where a body begins whose length (one or two bytes) is at `at`, when the
 * body runs exactly to `end`; -1 otherwise.
 */
export function plainBodyStart(buf: Uint8Array, at: number, end: number): number {
  if (at >= end) return -1;
  let len = buf[at];
  let body = at + 1;
  if (len >= 0x80) {
    if (body >= end) return -1;
    const high = buf[body++];
    if (high >= 0x80) return -1;
    len = (len & 0x7f) | (high << 7);
  }
  return body + len === end ? body : -1;
}

/**
 * True when the KeyValue from `start` to `end` has the usual layout (see
 * plainValueStart), holds no value or one string, bool, int or double
 * member, and its strings are ASCII: it is then valid.
 */
export function isPlainKeyValue(
  buf: Uint8Array,
  view: DataView,
  start: number,
  end: number,
): boolean {
  const value = plainValueStart(buf, start, end);
  if (value === -1) return false;
  const keyStart = start + 2;
  const keyEnd = keyStart + buf[start + 1];
  if (value === end) return isAscii(buf, view, keyStart, keyEnd);
  if (buf[value] !== STRING_VALUE) {
    return isPlainScalar(buf, value, end) && isAscii(buf, view, keyStart, keyEnd);
  }
  const text = plainBodyStart(buf, value + 1, end);
  if (text === -1) return false;
  // With one-byte lengths, the four bytes between key and text are tags
  // and lengths below 0x80, so one pass covers both strings.
  if (text === keyEnd + 4) return isAscii(buf, view, keyStart, end);
  return isAscii(buf, view, keyStart, keyEnd) && isAscii(buf, view, text, end);
}

/**
 * True when the Event from `start` to `end` holds only its time, name,
 * dropped count and attributes of the usual layout, with ASCII strings: it
 * is then valid.
 */
export function isPlainEvent(buf: Uint8Array, view: DataView, start: number, end: number): boolean {
  let p = start;
  while (p < end) {
    const key = buf[p++];
    if (key === EVENT_TIME) {
      p += 8;
      if (p > end) return false;
    } else if (key === EVENT_DROPPED) {
      for (let n = 0; ; n++) {
        if (p >= end || n === 10) return false;
        if (buf[p++] < 0x80) break;
      }
    } else if (key === K2_LEN || key === K3_LEN) { // name, attributes
      if (p >= end) return false;
      let len = buf[p++];
      if (len >= 0x80) {
        if (p >= end || buf[p] >= 0x80) return false;
        len = (len & 0x7f) | (buf[p++] << 7);
      }
      const e = p + len;
      if (e > end) return false;
      const valid = key === K2_LEN ? isAscii(buf, view, p, e) : isPlainKeyValue(buf, view, p, e);
      if (!valid) return false;
      p = e;
    } else {
      return false;
    }
  }
  return true;
}

/**
 * True when the AnyValue from `value` to `end` is exactly one bool or int
 * member (a varint of at most ten bytes) or one double member.
 */
function isPlainScalar(buf: Uint8Array, value: number, end: number): boolean {
  const member = buf[value];
  if (member === DOUBLE_VALUE) return end - value === 9;
  if (member !== BOOL_VALUE && member !== INT_VALUE) return false;
  const last = end - 1;
  if (last === value || last - value > 10 || buf[last] >= 0x80) return false;
  for (let i = value + 1; i < last; i++) if (buf[i] < 0x80) return false;
  return true;
}
