/**
 * Byte ranges read as 32-bit words, for the decoder's text caches and key
 * tables (decode-request.ts): comparing and hashing four bytes per step
 * takes a quarter of the steps of a byte loop.
 *
 * A range is read as toWords() says: words from its start, the last one
 * ending at its end (overlapping the one before when the length is not a
 * multiple of four), or a single word of all its bytes when it is shorter
 * than four. hashBytes() and isSameWords() read the same words.
 */

/** The words of bytes `start` to `end` (see above): at least one. */
export function toWords(buf: Uint8Array, view: DataView, start: number, end: number): Int32Array {
  const len = end - start;
  const words = new Int32Array(len < 4 ? 1 : (len + 3) >> 2);
  if (len < 4) {
    words[0] = shortWord(buf, start, end);
    return words;
  }
  const last = end - 4;
  let k = 0;
  for (let i = start; i < last; i += 4) words[k++] = view.getInt32(i, true);
  words[k] = view.getInt32(last, true);
  return words;
}

/**
 * Whether bytes `start` to `end` are those whose toWords() are `words`
 * (the caller has checked that the lengths are equal).
 */
export function isSameWords(
  buf: Uint8Array,
  view: DataView,
  start: number,
  end: number,
  words: Int32Array,
): boolean {
  if (end - start < 4) return words[0] === shortWord(buf, start, end);
  const last = end - 4;
  let k = 0;
  for (let i = start; i < last; i += 4) if (view.getInt32(i, true) !== words[k++]) return false;
  return view.getInt32(last, true) === words[k];
}

/**
 * A 32-bit hash of bytes `start` to `end`, over their words (a byte per
 * step costs about four times as much on values such as SQL statements).
 * The rotation lets every input bit reach the low bits, which pick a
 * cache slot.
 */
export function hashBytes(buf: Uint8Array, view: DataView, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  if (end - start < 4) {
    h = Math.imul(h ^ shortWord(buf, start, end), 0x9e3779b1);
  } else {
    const last = end - 4;
    for (let i = start; i < last; i += 4) {
      h = Math.imul(((h << 5) | (h >>> 27)) ^ view.getInt32(i, true), 0x9e3779b1);
    }
    h = Math.imul(((h << 5) | (h >>> 27)) ^ view.getInt32(last, true), 0x9e3779b1);
  }
  return (h ^ (h >>> 16)) >>> 0;
}

/** The bytes of a range shorter than four as one number, the first lowest. */
function shortWord(buf: Uint8Array, start: number, end: number): number {
  let word = 0;
  for (let i = end - 1; i >= start; i--) word = (word << 8) | buf[i];
  return word;
}
