/**
 * Finds the violation and evidence spans in a parsed OTLP/JSON export
 * request (as parseLosslessJson returns it) and reads what their signature
 * covers, for `betrace verify`. Field names follow the OTLP/JSON encoding
 * (lowerCamelCase; the .proto snake_case names are accepted too); fields
 * left out stand for their default value, as in proto3 JSON.
 */

import { EVIDENCE_SPAN_NAME, VIOLATION_SPAN_NAME } from '../emit/emitted-spans';
import { BetraceError } from '../errors';
import { isSignatureAttribute } from './canonical';

import type { SignableSpan, SignedAttributeValue } from './canonical';

/** A violation or evidence span read from OTLP/JSON. */
export interface JsonEmittedSpan extends SignableSpan {
  /** Only the `betrace.*` and `compliance.*` attributes; the others play no part in a signature. */
  readonly attributes: Array<readonly [string, SignedAttributeValue]>;
  /**
   * Why the span cannot be checked, '' when it can: a start time that is
   * not an integer, or a signed-namespace attribute whose value is of a
   * type the processor never writes (bytes, kvlist, a non-string array
   * element, no value).
   */
  readonly problem: string;
  /** True when any of the three signature attributes is present, whatever its value. */
  readonly hasSignature: boolean;
}

type Json = Record<string, unknown>;

const SIGNED_NAMES = new Set([VIOLATION_SPAN_NAME, EVIDENCE_SPAN_NAME]);
const DECIMAL = /^-?\d+$/;
const UNSIGNED_DECIMAL = /^\d+$/;
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const SPECIAL_DOUBLES: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/**
 * Calls `visit` for every span named `betrace.violation` or
 * `compliance.evidence` in `request`, in document order. Throws
 * ERR_SIGNING_BAD_TRACE_FILE, naming the field path, when the request's
 * structure is not that of an export request.
 */
export function forEachEmittedSpan(request: unknown, visit: (span: JsonEmittedSpan) => void): void {
  const root = asObject(request, '');
  listAt(root, 'resourceSpans', 'resource_spans', '').forEach((rs, r) => {
    const rsPath = `resourceSpans[${r}]`;
    const resourceSpans = asObject(rs, rsPath);
    listAt(resourceSpans, 'scopeSpans', 'scope_spans', rsPath).forEach((ss, s) => {
      const ssPath = `${rsPath}.scopeSpans[${s}]`;
      const scopeSpans = asObject(ss, ssPath);
      listAt(scopeSpans, 'spans', 'spans', ssPath).forEach((sp, i) => {
        const spanPath = `${ssPath}.spans[${i}]`;
        const span = asObject(sp, spanPath);
        const name = fieldOf(span, 'name', 'name');
        if (typeof name === 'string' && SIGNED_NAMES.has(name)) visit(readSpan(span, name, spanPath));
      });
    });
  });
}

function readSpan(span: Json, name: string, at: string): JsonEmittedSpan {
  const problems: string[] = [];
  const startNs = toUnsignedInteger(fieldOf(span, 'startTimeUnixNano', 'start_time_unix_nano') ?? 0);
  if (startNs === null) problems.push('startTimeUnixNano is not an unsigned integer');

  const attributes: Array<readonly [string, SignedAttributeValue]> = [];
  let hasSignature = false;
  listAt(span, 'attributes', 'attributes', at).forEach((kv, i) => {
    const pair = asObject(kv, `${at}.attributes[${i}]`);
    // proto3 JSON leaves out an empty key.
    const key = pair.key ?? '';
    if (typeof key !== 'string') {
      throw badFile(`${at}.attributes[${i}].key`, 'must be a string');
    }
    if (!key.startsWith('betrace.') && !key.startsWith('compliance.')) return;
    if (isSignatureAttribute(key)) hasSignature = true;
    const value = toAttributeValue(pair.value);
    if (isUnsupported(value)) {
      problems.push(`attribute ${key} ${value.unsupported}`);
      return;
    }
    attributes.push([key, value]);
  });

  return {
    traceId: stringOr(fieldOf(span, 'traceId', 'trace_id')),
    spanId: stringOr(fieldOf(span, 'spanId', 'span_id')),
    name,
    startNs: startNs ?? 0n,
    attributes,
    problem: problems.join('; '),
    hasSignature,
  };
}

interface Unsupported {
  readonly unsupported: string;
}

type Converted = SignedAttributeValue | Unsupported;

function isUnsupported(value: Converted): value is Unsupported {
  return typeof value === 'object' && !Array.isArray(value);
}

/** An OTLP/JSON AnyValue as the processor's attribute value, or why it has none. */
function toAttributeValue(raw: unknown): Converted {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { unsupported: 'has no value' };
  }
  const value = raw as Json;
  const kinds = Object.keys(value).filter((k) => value[k] !== undefined && value[k] !== null);
  if (kinds.length !== 1) {
    return { unsupported: kinds.length === 0 ? 'has no value' : `has more than one value (${kinds.join(', ')})` };
  }
  const kind = kinds[0];
  const v = value[kind];
  switch (kind) {
    case 'stringValue':
    case 'string_value':
      return typeof v === 'string' ? v : { unsupported: 'has a stringValue that is not a string' };
    case 'boolValue':
    case 'bool_value':
      return typeof v === 'boolean' ? v : { unsupported: 'has a boolValue that is not true or false' };
    case 'intValue':
    case 'int_value':
      return toInteger(v) ?? { unsupported: 'has an intValue that is not an integer' };
    case 'doubleValue':
    case 'double_value':
      return toDouble(v) ?? { unsupported: 'has a doubleValue that is not a number' };
    case 'arrayValue':
    case 'array_value':
      return toStringArray(v);
    default:
      return { unsupported: `holds a ${kind}, which the processor never signs` };
  }
}

function toStringArray(raw: unknown): Converted {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { unsupported: 'has an arrayValue that is not an object' };
  }
  const values = (raw as Json).values ?? [];
  if (!Array.isArray(values)) return { unsupported: 'has arrayValue.values that is not a list' };
  const strings: string[] = [];
  for (const element of values) {
    const converted = toAttributeValue(element);
    if (typeof converted !== 'string') {
      return { unsupported: 'has an array element that is not a string, which the processor never signs' };
    }
    strings.push(converted);
  }
  return strings;
}

function toInteger(raw: unknown): bigint | null {
  if (typeof raw === 'bigint') return raw;
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? BigInt(raw) : null;
  if (typeof raw === 'string' && DECIMAL.test(raw)) return BigInt(raw);
  return null;
}

function toUnsignedInteger(raw: unknown): bigint | null {
  if (typeof raw === 'string' && !UNSIGNED_DECIMAL.test(raw)) return null;
  const value = toInteger(raw);
  return value === null || value < 0n ? null : value;
}

function toDouble(raw: unknown): number | null {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'bigint') return Number(raw);
  if (typeof raw !== 'string') return null;
  if (Object.hasOwn(SPECIAL_DOUBLES, raw)) return SPECIAL_DOUBLES[raw];
  return JSON_NUMBER.test(raw) ? Number(raw) : null;
}

function fieldOf(object: Json, camel: string, snake: string): unknown {
  const value = object[camel];
  return value === undefined || value === null ? object[snake] ?? undefined : value;
}

function listAt(object: Json, camel: string, snake: string, at: string): unknown[] {
  const value = fieldOf(object, camel, snake);
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw badFile(at === '' ? camel : `${at}.${camel}`, 'must be a list');
  return value;
}

function asObject(value: unknown, at: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badFile(at === '' ? 'the request' : at, 'must be an object');
  }
  return value as Json;
}

function stringOr(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function badFile(at: string, what: string): BetraceError {
  return new BetraceError('ERR_SIGNING_BAD_TRACE_FILE', `${at} ${what}`);
}
