/**
 * Codes of OTLP decoding and encoding errors, with what each means.
 *
 * This file imports nothing: processor/errors.ts reads PROTO_ERRORS while it
 * loads, so an import back into it from here would be a require cycle.
 */

/** Codes of OTLP decoding and encoding errors, with what each means. */
export const PROTO_ERRORS = {
  ERR_PROTO_MALFORMED:
    'a protobuf message that cannot be parsed (truncated, a bad wire type, a length past the end of its message); the message names the byte offset and the field',
  ERR_PROTO_JSON_SYNTAX:
    'an OTLP/JSON body that is not valid JSON; the message names the line and column',
  ERR_PROTO_JSON_FIELD:
    'an OTLP/JSON field with an unusable value (an ID not in hex or of the wrong length, a bad number, an unknown enum name); the message names the field path',
  ERR_PROTO_ENCODE_VALUE:
    'a value the processor tried to encode that OTLP cannot carry (an ID that is not hex of the right length, an integer outside int64)',
} as const;
