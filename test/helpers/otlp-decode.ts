/**
 * Full OTLP trace decoding and encoding for tests, through protobufjs
 * reflection over proto/otlp/*.proto: the independent reading that the
 * product's own decoders and encoders are compared against.
 */

import path from 'node:path';

import protobuf from 'protobufjs';

import { REPO_ROOT } from './paths';

/** A decoded message as plain data: camelCase names, hex IDs, 64-bit integers as decimal strings. */
export type PlainMessage = Record<string, any>;

const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

let cachedRoot: protobuf.Root | null = null;

/** The protobufjs root holding the OTLP trace messages. */
export function loadOtlpRoot(): protobuf.Root {
  if (cachedRoot === null) {
    cachedRoot = protobuf.loadSync(path.join(REPO_ROOT, 'proto', 'otlp', 'trace-service.proto'));
    cachedRoot.resolveAll();
  }
  return cachedRoot;
}

/** The reflected type of one OTLP message, by its full name. */
export function otlpType(name: string): protobuf.Type {
  return loadOtlpRoot().lookupType(name);
}

const REQUEST = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest';

/**
 * Decodes a whole ExportTraceServiceRequest into plain objects. Every field
 * is present (defaults filled in, absent messages as null), IDs are
 * lower-case hex, other bytes base64, enums numbers, 64-bit integers strings.
 */
export function decodeRequestFull(bytes: Uint8Array): PlainMessage {
  return decodeMessageFull(REQUEST, bytes);
}

/** Decodes any OTLP message by full name, in the same plain form. */
export function decodeMessageFull(typeName: string, bytes: Uint8Array): PlainMessage {
  const type = otlpType(typeName);
  const message = type.decode(bytes);
  const plain = type.toObject(message, {
    longs: String,
    enums: Number,
    bytes: String,
    defaults: true,
    arrays: true,
    oneofs: false,
  });
  return toHexIds(plain) as PlainMessage;
}

/**
 * Encodes a request given in protobufjs's object form (camelCase names,
 * bytes as base64 or Uint8Array, 64-bit integers as strings or numbers).
 */
export function encodeRequestFull(object: PlainMessage): Uint8Array {
  const type = otlpType(REQUEST);
  return type.encode(type.fromObject(object)).finish();
}

function toHexIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toHexIds);
  if (value === null || typeof value !== 'object') return value;
  const out: PlainMessage = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] =
      ID_FIELDS.has(key) && typeof v === 'string'
        ? Buffer.from(v, 'base64').toString('hex')
        : toHexIds(v);
  }
  return out;
}
