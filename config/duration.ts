/**
 * Durations as the config writes them: a number and a unit, optionally
 * several in a row as Go's time.ParseDuration reads them (`1m30s`).
 */

import { BetraceError } from '../processor/errors';

/** Nanoseconds per unit; `µs` and `μs` are accepted as spellings of `us`. */
const NS_PER_UNIT: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const NS_PER_MS = 1_000_000n;
const UNITS_HINT = 'units: ns, us, ms, s, m, h';
const PART = /^(\d+(?:\.\d*)?|\.\d+)([^\d.]*)/;

/**
 * Parses a duration such as `5s`, `250ms`, `1.5m` or `1h30m` into
 * milliseconds (fractions of a millisecond are kept). Throws a BetraceError
 * with code ERR_CONFIG_BAD_DURATION when the text has no unit, an unknown
 * unit, is negative, or is non-zero but below 1ms.
 */
export function parseDuration(text: string): number {
  const quoted = JSON.stringify(text);
  if (text === '') {
    throw badDuration('duration is empty (write e.g. "5s" or "250ms")');
  }
  if (text.startsWith('-')) {
    throw badDuration(`duration ${quoted} is negative`);
  }
  if (/^\d+(\.\d*)?$|^\.\d+$/.test(text)) {
    throw badDuration(
      `duration ${quoted} has no unit (write e.g. "${text}s" or "${text}ms"; ${UNITS_HINT})`,
    );
  }

  let totalNs = 0n;
  let nonZero = false;
  let rest = text;
  while (rest !== '') {
    const match = PART.exec(rest);
    if (match === null) {
      throw badDuration(
        `duration ${quoted} is not a number with a unit (e.g. "5s", "250ms", "1.5m")`,
      );
    }
    const [whole, num, unit] = match as unknown as [string, string, string];
    const nsPerUnit = NS_PER_UNIT[unit];
    if (unit === '') {
      throw badDuration(`duration ${quoted} has a number without a unit (${UNITS_HINT})`);
    }
    if (nsPerUnit === undefined) {
      throw badDuration(`duration ${quoted} has an unknown unit "${unit}" (${UNITS_HINT})`);
    }
    if (/[1-9]/.test(num)) nonZero = true;
    totalNs += toNanoseconds(num, nsPerUnit);
    rest = rest.slice(whole.length);
  }

  // Checked on the text, not on totalNs, so that 0.1ns is not taken for 0.
  if (nonZero && totalNs < NS_PER_MS) {
    throw new DurationBelowMinimumError(`duration ${quoted} is below 1ms, the smallest non-zero duration`);
  }
  return Number(totalNs / NS_PER_MS) + Number(totalNs % NS_PER_MS) / 1e6;
}

/** Exact decimal arithmetic: 1.1s is 1100ms, not 1100.0000000000002. */
function toNanoseconds(num: string, nsPerUnit: bigint): bigint {
  const [intPart = '', fracPart = ''] = num.split('.');
  let ns = BigInt(intPart === '' ? '0' : intPart) * nsPerUnit;
  if (fracPart !== '') {
    const scale = 10n ** BigInt(fracPart.length);
    ns += (BigInt(fracPart) * nsPerUnit) / scale;
  }
  return ns;
}

/** A duration above zero but under 1 ms; a key that takes zero can suggest it. */
export class DurationBelowMinimumError extends BetraceError {
  constructor(message: string) {
    super('ERR_CONFIG_BAD_DURATION', message);
  }
}

function badDuration(message: string): BetraceError {
  return new BetraceError('ERR_CONFIG_BAD_DURATION', message);
}
