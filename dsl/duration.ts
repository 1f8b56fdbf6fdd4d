/** Duration literals of DSL.md 13: digits, an optional fraction, one unit. */

/** Nanoseconds per unit. */
export const DURATION_UNITS_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const DURATION_LITERAL = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/;

/** Nanoseconds of a literal such as `250ms` or `1.5s`, or null if it is not one. */
export function parseDurationLiteral(text: string): number | null {
  const m = DURATION_LITERAL.exec(text);
  if (m === null) return null;
  return Math.round(Number(m[1]) * DURATION_UNITS_NS[m[2]]);
}

/** True for a unit name (`ms`) that may follow the digits of a duration. */
export function isDurationUnit(word: string): boolean {
  return Object.prototype.hasOwnProperty.call(DURATION_UNITS_NS, word);
}
