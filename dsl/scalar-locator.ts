/**
 * Maps offsets of a YAML scalar's value back to the file. YAML removes
 * indentation, folds line breaks and decodes escapes, so the value is
 * aligned with the scalar's source: each non-whitespace character of the
 * value is found in order in the source, skipping the whitespace YAML
 * dropped and decoding double-quoted escapes. Non-whitespace characters map
 * exactly for every scalar style; folded or removed whitespace maps to the
 * nearest source whitespace.
 */

import type { LineIndex, Locator } from './source-text';

/** The source range and style of a scalar (from the yaml package's node). */
export interface ScalarSource {
  readonly style: string;
  readonly start: number;
  readonly end: number;
}

/** A locator for the value of one scalar of a file. */
export function createScalarLocator(
  index: LineIndex,
  file: string,
  scalar: ScalarSource,
  value: string,
): Locator {
  const map = alignScalar(index.text, scalar, value);
  return {
    file,
    locate(offset) {
      const at = map[Math.min(Math.max(offset, 0), value.length)];
      return { ...index.positionAt(at), offset: at };
    },
  };
}

/** File offset of every value offset, including value.length. */
export function alignScalar(source: string, scalar: ScalarSource, value: string): Int32Array {
  const map = new Int32Array(value.length + 1);
  const end = Math.min(scalar.end, source.length);
  const style = scalar.style;
  let j = contentStart(source, scalar);
  // Where the text after the last non-whitespace character begins: an
  // error at the end of a rule points there, not at the next YAML key.
  let tail = j;
  let i = 0;
  while (i < value.length) {
    const ch = value[i];
    let matched = 0;
    while (j < end && matched === 0) {
      const rc = source[j];
      if (style === 'QUOTE_DOUBLE' && rc === '\\') {
        const esc = decodeEscape(source, j);
        if (esc.text === '') {
          j += esc.length;
          continue;
        }
        if (!value.startsWith(esc.text, i)) break;
        for (let k = 0; k < esc.text.length; k++) map[i + k] = j;
        matched = esc.text.length;
        j += esc.length;
      } else if (style === 'QUOTE_SINGLE' && rc === "'" && source[j + 1] === "'") {
        if (ch !== "'") break;
        map[i] = j;
        matched = 1;
        j += 2;
      } else if (rc === ch) {
        map[i] = j;
        matched = 1;
        j++;
      } else if (rc === ' ' || rc === '\t' || rc === '\n' || rc === '\r') {
        j++;
      } else {
        break;
      }
    }
    if (matched === 0) {
      // Lost alignment (should not happen): keep the current place.
      map[i] = Math.min(j, end);
      matched = 1;
    }
    for (let k = 0; k < matched; k++) {
      if (!isSpace(value[i + k])) tail = map[i + k] + 1;
    }
    i += matched;
  }
  map[value.length] = tail;
  for (let k = value.length - 1; k >= 0 && isSpace(value[k]); k--) map[k] = tail;
  return map;
}

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

function contentStart(source: string, scalar: ScalarSource): number {
  switch (scalar.style) {
    case 'BLOCK_LITERAL':
    case 'BLOCK_FOLDED': {
      // The header line (`|`, `>-`, `|2 # comment`) holds no content.
      const lf = source.indexOf('\n', scalar.start);
      return lf === -1 || lf >= scalar.end ? scalar.end : lf + 1;
    }
    case 'QUOTE_DOUBLE':
    case 'QUOTE_SINGLE':
      return scalar.start + 1;
    default:
      return scalar.start;
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f',
  r: '\r', e: '\x1b', ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\x85',
  _: '\xa0', L: '\u2028', P: '\u2029',
};

/** The text a double-quoted escape stands for and its source length. */
function decodeEscape(source: string, at: number): { text: string; length: number } {
  const c = source[at + 1];
  if (c === '\n' || c === '\r') {
    // An escaped line break joins lines; the next line's indentation goes too.
    let k = at + 1;
    if (source[k] === '\r' && source[k + 1] === '\n') k++;
    k++;
    while (source[k] === ' ' || source[k] === '\t') k++;
    return { text: '', length: k - at };
  }
  if (c !== undefined && SIMPLE_ESCAPES[c] !== undefined) return { text: SIMPLE_ESCAPES[c], length: 2 };
  const digits = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0;
  if (digits > 0) {
    const hex = source.slice(at + 2, at + 2 + digits);
    const cp = Number.parseInt(hex, 16);
    if (/^[0-9a-fA-F]+$/.test(hex) && hex.length === digits && cp <= 0x10ffff) {
      return { text: String.fromCodePoint(cp), length: 2 + digits };
    }
  }
  return { text: '\\', length: 1 };
}
