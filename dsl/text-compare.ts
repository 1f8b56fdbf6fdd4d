/**
 * The comparison rules of DSL.md 6.5 on attribute text: which texts are
 * numeric, code-point order, and the text form of number literals.
 */

/**
 * Plain decimal syntax with optional sign, fraction and exponent (DSL.md 6.5),
 * in full. `Number()` alone would also take `''`, `' 5 '`, `0x10`, `Infinity`.
 */
const NUMERIC_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** True when the text is a number by the rule of DSL.md 6.5. */
export function isNumericText(text: string): boolean {
  return NUMERIC_TEXT.test(text);
}

/** The number a text stands for, or NaN when it is not numeric. */
export function toNumber(text: string): number {
  return NUMERIC_TEXT.test(text) ? Number(text) : NaN;
}

/**
 * Compares by Unicode code point, which is the byte order of UTF-8. The
 * default `<` on strings compares UTF-16 units and puts U+10000 and above
 * before U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return unitRank(x) - unitRank(y);
  }
  return a.length - b.length;
}

// Surrogates (U+D800..U+DFFF) encode code points above U+FFFF, so they rank
// after U+E000..U+FFFF; the shift keeps every other order unchanged.
function unitRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/**
 * The text form of a number literal: the decimal value without leading zeros
 * (`010` is `10`), trailing fractional zeros (`1.50` is `1.5`) or exponent.
 * Integers keep every digit, as OTLP integer attributes do (DSL.md 13).
 */
export function toNumberLiteralText(literal: string): string {
  const negative = literal.startsWith('-');
  const body = negative || literal.startsWith('+') ? literal.slice(1) : literal;
  // Fractions get the shortest digits that read back to the same double
  // (DSL.md 6.4); integers keep every digit.
  const text = body.includes('.')
    ? toPlainDecimal(Number(body))
    : body.replace(/^0+(?=\d)/, '');
  return negative && /[1-9]/.test(text) ? `-${text}` : text;
}

/** A non-negative double in plain decimal notation (no exponent). */
function toPlainDecimal(x: number): string {
  const s = String(x);
  const e = s.indexOf('e');
  if (e === -1) return s;
  const exp = Number(s.slice(e + 1));
  const digits = s.slice(0, e).replace('.', '');
  const point = s.slice(0, e).indexOf('.');
  const intLen = (point === -1 ? s.slice(0, e).length : point) + exp;
  if (intLen <= 0) return `0.${'0'.repeat(-intLen)}${digits}`;
  if (intLen >= digits.length) return digits + '0'.repeat(intLen - digits.length);
  return `${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
}
