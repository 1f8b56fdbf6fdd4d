/** Codes of OTLP decoding and encoding errors, with what each means. */
export const PROTO_ERRORS = {} as const;
