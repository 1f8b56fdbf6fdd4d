/**
 * Text forms of typed attribute values (DSL.md 2.2 and 13). Rules compare
 * text only, so every producer of records (the OTLP decoder, example traces)
 * turns typed values into text the same way, through this function.
 */

// Cycles in hand-built objects must not recurse forever; OTLP values are far
// shallower than this.
const MAX_DEPTH = 64;

/**
 * The rule text form of a value: strings unchanged; numbers as `String(x)`
 * (shortest round trip, so `12.5`, `1e+21`, `NaN`, `Infinity`); bigints (int64
 * beyond 2^53) as their exact digits; booleans as `true`/`false`; bytes
 * (`Uint8Array`) as standard base64; arrays, `Map`s (kvlists in wire order)
 * and plain objects as compact JSON; null and undefined as the empty text.
 */
export function toAttributeText(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return String(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      if (value === null || value === undefined) return '';
      if (value instanceof Uint8Array) return toBase64(value);
      return toJsonText(value, 0);
  }
}

function toJsonText(value: unknown, depth: number): string {
  if (depth > MAX_DEPTH) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // JSON has no NaN or infinities; their text forms go in as strings.
      return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return 'null';
  }
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return JSON.stringify(toBase64(value));
  if (Array.isArray(value)) {
    return `[${value.map((v) => toJsonText(v, depth + 1)).join(',')}]`;
  }
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  const parts = entries.map(
    ([k, v]) => `${JSON.stringify(String(k))}:${toJsonText(v, depth + 1)}`,
  );
  return `{${parts.join(',')}}`;
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
