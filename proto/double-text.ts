/**
 * The text form of a double (DSL.md 13): exactly `String(x)`, with a fast
 * path for the values telemetry carries most (integers, and decimals with
 * one or two fraction digits such as amounts and milliseconds), where
 * String() costs about three times as much.
 */

const INT32_LIMIT = 2147483648;

/** `String(x)`, computed faster for integers and two-decimal values. */
export function toDoubleText(x: number): string {
  if (x === (x | 0)) return String(x);
  const k = Math.round(x * 100);
  // k / 100 === x: the decimal k/100 is the value read, and with |k| below
  // 2^31 no other decimal of two fraction digits reads as the same double,
  // so this is the shortest form, as String() gives it.
  if (k > -INT32_LIMIT && k < INT32_LIMIT && k / 100 === x) {
    const abs = k < 0 ? -k : k;
    const whole = (abs / 100) | 0;
    const cents = abs - whole * 100;
    let fraction: string;
    if (cents < 10) fraction = `0${cents}`;
    else fraction = cents % 10 === 0 ? String(cents / 10) : String(cents);
    return `${k < 0 ? '-' : ''}${whole}.${fraction}`;
  }
  return String(x);
}
