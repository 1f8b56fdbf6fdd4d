/**
 * The OTLP trace messages as data (numbers from proto/otlp/*.proto), for the
 * OTLP/JSON translation in both directions. The hot-path span decoder does
 * not use this table: it reads the same numbers directly.
 */

/**
 * Messages nested deeper than this are refused by every codec here (they
 * recurse). A request reaches depth 5 at a span attribute's value, and each
 * level of an array or kvlist value adds 2.
 */
export const MAX_MESSAGE_DEPTH = 100;

/** How a field's value is carried. ID kinds are bytes with a fixed length in JSON hex. */
export type FieldKind =
  | 'string'
  | 'bytes'
  | 'traceId'
  | 'spanId'
  | 'parentSpanId'
  | 'bool'
  | 'int64'
  | 'uint32'
  | 'fixed64'
  | 'fixed32'
  | 'double'
  | 'enum'
  | 'message';

/** One field of a message. */
export interface FieldSpec {
  readonly no: number;
  /** The proto3 JSON name (lowerCamelCase). */
  readonly json: string;
  /** The name in the .proto file (snake_case), also accepted in JSON. */
  readonly proto: string;
  readonly kind: FieldKind;
  readonly repeated: boolean;
  /** A member of a oneof. */
  readonly oneof: boolean;
  /** Written even when it holds the default value (oneof members, list items). */
  readonly keepDefault: boolean;
  /** The field key as written on the wire. */
  readonly key: number;
  /** Position in its message's `fields`. */
  readonly index: number;
  /** For kind 'message'. */
  message: MessageSpec | null;
  /** For kind 'enum': value names. */
  readonly enumValues: Readonly<Record<string, number>> | null;
}

/** One message type, fields in field-number order. */
export interface MessageSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  /** Field by number (sparse). */
  readonly byNumber: ReadonlyArray<FieldSpec | undefined>;
  /** Field by JSON name and by .proto name. */
  readonly byName: ReadonlyMap<string, FieldSpec>;
}

const WIRE_TYPES: Record<FieldKind, number> = {
  string: 2,
  bytes: 2,
  traceId: 2,
  spanId: 2,
  parentSpanId: 2,
  bool: 0,
  int64: 0,
  uint32: 0,
  fixed64: 1,
  fixed32: 5,
  double: 1,
  enum: 0,
  message: 2,
};

/** The wire type a field of this kind is written with. */
export function wireTypeOf(kind: FieldKind): number {
  return WIRE_TYPES[kind];
}

type FieldRow = [no: number, proto: string, kind: FieldKind, flags?: string, target?: string];

function toCamel(name: string): string {
  return name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

const SPAN_KIND: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

const STATUS_CODE: Record<string, number> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};

// flags: 'r' repeated, 'o' oneof member. target: message name or enum name.
const MESSAGES: Record<string, FieldRow[]> = {
  ExportTraceServiceRequest: [[1, 'resource_spans', 'message', 'r', 'ResourceSpans']],
  ResourceSpans: [
    [1, 'resource', 'message', '', 'Resource'],
    [2, 'scope_spans', 'message', 'r', 'ScopeSpans'],
    [3, 'schema_url', 'string'],
  ],
  Resource: [
    [1, 'attributes', 'message', 'r', 'KeyValue'],
    [2, 'dropped_attributes_count', 'uint32'],
    [3, 'entity_refs', 'message', 'r', 'EntityRef'],
  ],
  EntityRef: [
    [1, 'schema_url', 'string'],
    [2, 'type', 'string'],
    [3, 'id_keys', 'string', 'r'],
    [4, 'description_keys', 'string', 'r'],
  ],
  ScopeSpans: [
    [1, 'scope', 'message', '', 'InstrumentationScope'],
    [2, 'spans', 'message', 'r', 'Span'],
    [3, 'schema_url', 'string'],
  ],
  InstrumentationScope: [
    [1, 'name', 'string'],
    [2, 'version', 'string'],
    [3, 'attributes', 'message', 'r', 'KeyValue'],
    [4, 'dropped_attributes_count', 'uint32'],
  ],
  Span: [
    [1, 'trace_id', 'traceId'],
    [2, 'span_id', 'spanId'],
    [3, 'trace_state', 'string'],
    [4, 'parent_span_id', 'parentSpanId'],
    [5, 'name', 'string'],
    [6, 'kind', 'enum', '', 'SpanKind'],
    [7, 'start_time_unix_nano', 'fixed64'],
    [8, 'end_time_unix_nano', 'fixed64'],
    [9, 'attributes', 'message', 'r', 'KeyValue'],
    [10, 'dropped_attributes_count', 'uint32'],
    [11, 'events', 'message', 'r', 'Event'],
    [12, 'dropped_events_count', 'uint32'],
    [13, 'links', 'message', 'r', 'Link'],
    [14, 'dropped_links_count', 'uint32'],
    [15, 'status', 'message', '', 'Status'],
    [16, 'flags', 'fixed32'],
  ],
  Event: [
    [1, 'time_unix_nano', 'fixed64'],
    [2, 'name', 'string'],
    [3, 'attributes', 'message', 'r', 'KeyValue'],
    [4, 'dropped_attributes_count', 'uint32'],
  ],
  Link: [
    [1, 'trace_id', 'traceId'],
    [2, 'span_id', 'spanId'],
    [3, 'trace_state', 'string'],
    [4, 'attributes', 'message', 'r', 'KeyValue'],
    [5, 'dropped_attributes_count', 'uint32'],
    [6, 'flags', 'fixed32'],
  ],
  Status: [
    [2, 'message', 'string'],
    [3, 'code', 'enum', '', 'StatusCode'],
  ],
  KeyValue: [
    [1, 'key', 'string'],
    [2, 'value', 'message', '', 'AnyValue'],
  ],
  AnyValue: [
    [1, 'string_value', 'string', 'o'],
    [2, 'bool_value', 'bool', 'o'],
    [3, 'int_value', 'int64', 'o'],
    [4, 'double_value', 'double', 'o'],
    [5, 'array_value', 'message', 'o', 'ArrayValue'],
    [6, 'kvlist_value', 'message', 'o', 'KeyValueList'],
    [7, 'bytes_value', 'bytes', 'o'],
  ],
  ArrayValue: [[1, 'values', 'message', 'r', 'AnyValue']],
  KeyValueList: [[1, 'values', 'message', 'r', 'KeyValue']],
  ExportTraceServiceResponse: [[1, 'partial_success', 'message', '', 'ExportTracePartialSuccess']],
  ExportTracePartialSuccess: [
    [1, 'rejected_spans', 'int64'],
    [2, 'error_message', 'string'],
  ],
};

const ENUMS: Record<string, Record<string, number>> = {
  SpanKind: SPAN_KIND,
  StatusCode: STATUS_CODE,
};

function buildSchema(): Record<string, MessageSpec> {
  const specs: Record<string, MessageSpec> = {};
  const links: Array<[FieldSpec, string]> = [];
  for (const [name, rows] of Object.entries(MESSAGES)) {
    const fields: FieldSpec[] = [];
    const byNumber: Array<FieldSpec | undefined> = [];
    const byName = new Map<string, FieldSpec>();
    for (const [no, proto, kind, flags = '', target] of rows) {
      const field: FieldSpec = {
        no,
        json: toCamel(proto),
        proto,
        kind,
        repeated: flags.includes('r'),
        oneof: flags.includes('o'),
        keepDefault: flags.includes('o') || flags.includes('r'),
        key: no * 8 + WIRE_TYPES[kind],
        index: fields.length,
        message: null,
        enumValues: kind === 'enum' ? ENUMS[target as string] : null,
      };
      if (kind === 'message') links.push([field, target as string]);
      fields.push(field);
      byNumber[no] = field;
      byName.set(field.json, field).set(field.proto, field);
    }
    specs[name] = { name, fields, byNumber, byName };
  }
  for (const [field, target] of links) field.message = specs[target];
  return specs;
}

/** Every message of the OTLP trace protocol, by short name. */
export const OTLP_MESSAGES: Readonly<Record<string, MessageSpec>> = buildSchema();
