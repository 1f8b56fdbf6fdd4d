/**
 * Reads `service.name` out of a Resource message as it arrived (the bytes a
 * violation span carries), without decoding anything else. Field numbers:
 * proto/otlp/resource.proto and common.proto.
 */

import { WireReader } from '../../proto/wire-reader';

// Wire keys: Resource.attributes (1), KeyValue.key (1) and .value (2),
// AnyValue.string_value (1); all length-delimited.
const K1_LEN = 0x0a;
const K2_LEN = 0x12;
const SERVICE_NAME = Buffer.from('service.name', 'utf8');

// Spans of one trace share one resource object: read each once.
const cache = new WeakMap<Uint8Array, string | null>();

/** The resource's `service.name` string, or null when absent, not a string or unreadable. */
export function readServiceName(resource: Uint8Array | null): string | null {
  if (resource === null) return null;
  const cached = cache.get(resource);
  if (cached !== undefined) return cached;
  let name: string | null = null;
  try {
    name = findServiceName(resource);
  } catch {
    // Bytes that the receiver accepted are well formed; a failure here only loses the name.
    name = null;
  }
  cache.set(resource, name);
  return name;
}

function findServiceName(bytes: Uint8Array): string | null {
  const r = new WireReader(bytes);
  const end = bytes.length;
  let found: string | null = null;
  for (let key = r.tag(end); key !== 0; key = r.tag(end)) {
    if (key !== K1_LEN) {
      r.skip(key, end);
      continue;
    }
    const kvEnd = r.lengthEnd(end);
    const value = readKeyValue(r, kvEnd);
    // The last one wins, as a map built from the list would have it.
    if (value !== undefined) found = value;
    r.pos = kvEnd;
  }
  return found;
}

/** The string value of a KeyValue whose key is service.name; undefined otherwise. */
function readKeyValue(r: WireReader, end: number): string | null | undefined {
  let isServiceName = false;
  let valueStart = -1;
  let valueEnd = -1;
  for (let key = r.tag(end); key !== 0; key = r.tag(end)) {
    if (key === K1_LEN) {
      const keyEnd = r.lengthEnd(end);
      isServiceName = Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos, keyEnd - r.pos).equals(SERVICE_NAME);
      r.pos = keyEnd;
    } else if (key === K2_LEN) {
      valueEnd = r.lengthEnd(end);
      valueStart = r.pos;
      r.pos = valueEnd;
    } else {
      r.skip(key, end);
    }
  }
  if (!isServiceName) return undefined;
  if (valueStart < 0) return null;
  const v = new WireReader(r.buf, valueStart);
  let text: string | null = null;
  for (let key = v.tag(valueEnd); key !== 0; key = v.tag(valueEnd)) {
    if (key === K1_LEN) {
      const stringEnd = v.lengthEnd(valueEnd);
      text = Buffer.from(v.buf.buffer, v.buf.byteOffset + v.pos, stringEnd - v.pos).toString('utf8');
      v.pos = stringEnd;
    } else {
      v.skip(key, valueEnd);
      text = null;
    }
  }
  return text;
}
