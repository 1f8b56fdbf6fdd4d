/**
 * Query strings of the admin API: unknown parameters are refused (a typo
 * such as `rule=` must not silently list everything), values are read
 * strictly, and every problem is a 400 naming the parameter.
 */

import { AdminError } from './admin-error';

/** Parameter name to its values, in the order given. */
export type QueryValues = ReadonlyMap<string, readonly string[]>;

/** The query's parameters; 400 for one not in `allowed`. */
export function readQuery(query: unknown, allowed: readonly string[]): QueryValues {
  const out = new Map<string, string[]>();
  if (query === null || typeof query !== 'object') return out;
  for (const [key, raw] of Object.entries(query as Record<string, unknown>)) {
    if (!allowed.includes(key)) {
      throw badQuery(`unknown query parameter "${key}" (this endpoint takes ${allowed.join(', ')})`);
    }
    const values = Array.isArray(raw) ? raw.map(String) : [String(raw)];
    out.set(key, values);
  }
  return out;
}

/** The one value of a parameter; 400 when it is given twice. */
export function singleValue(query: QueryValues, key: string): string | undefined {
  const values = query.get(key);
  if (values === undefined) return undefined;
  if (values.length > 1) throw badQuery(`query parameter "${key}" is given ${values.length} times; give it once`);
  return values[0];
}

/** Every value of a parameter, comma-separated lists split, empty items dropped. */
export function listValues(query: QueryValues, key: string): string[] | undefined {
  const values = query.get(key);
  if (values === undefined) return undefined;
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

/** `true` or `false`. */
export function booleanValue(query: QueryValues, key: string): boolean | undefined {
  const value = singleValue(query, key);
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw badQuery(`query parameter "${key}" must be true or false, not "${value}"`);
}

/** A whole number within bounds. */
export function integerValue(query: QueryValues, key: string, min: number, max: number): number | undefined {
  const value = singleValue(query, key);
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw badQuery(`query parameter "${key}" must be a whole number from ${min} to ${max}, not "${value}"`);
  }
  return Number(value);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A time as RFC 3339 (`2026-01-31T12:00:00Z`) or milliseconds since the epoch; in ms. */
export function timeValue(query: QueryValues, key: string): number | undefined {
  const value = singleValue(query, key);
  if (value === undefined) return undefined;
  if (/^[0-9]{1,16}$/.test(value)) return Number(value);
  const ms = RFC3339.test(value) ? Date.parse(value.replace(' ', 'T')) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw badQuery(`query parameter "${key}" must be an RFC 3339 time (2026-01-31T12:00:00Z) or milliseconds since the epoch, not "${value}"`);
  }
  return ms;
}

/** The 400 for a query parameter. */
export function badQuery(message: string): AdminError {
  return new AdminError(400, 'ERR_ADMIN_BAD_QUERY', message);
}
