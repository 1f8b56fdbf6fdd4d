/**
 * Configuration error codes, the diagnostic shape and the ConfigError the
 * loader throws. Every problem found in a config file becomes one
 * diagnostic; the loader collects all of them before it throws one
 * ConfigError.
 */

/** Codes of configuration errors, with what each means. */
export const CONFIG_ERRORS = {
  ERR_CONFIG_READ_FAILED: 'the config file could not be read',
  ERR_CONFIG_YAML_SYNTAX:
    'the config file is not valid YAML 1.2 (a syntax error, a bad escape, more than one document)',
  ERR_CONFIG_DUPLICATE_KEY: 'a key appears twice in the same mapping',
  ERR_CONFIG_UNKNOWN_KEY:
    'a key that the configuration does not have; the message suggests the closest known key',
  ERR_CONFIG_BAD_TYPE:
    'a value of the wrong type (a string where a number is expected, a list where a mapping is expected, no value)',
  ERR_CONFIG_OUT_OF_RANGE: 'a number outside its allowed range',
  ERR_CONFIG_BAD_ENUM: 'a value that is not one of the allowed choices',
  ERR_CONFIG_BAD_DURATION:
    'a duration that is not a number with a unit (ns, us, ms, s, m, h), is negative, or is below 1ms',
  ERR_CONFIG_BAD_ENDPOINT:
    'an endpoint that is not host:port (or an http/https URL where one is allowed)',
  ERR_CONFIG_BAD_VALUE:
    'a value of the right type that is still unusable (an empty path, a bad header name, a bad Redis URL)',
  ERR_CONFIG_BAD_TLS:
    'TLS settings that do not fit together (a certificate without its key, CA files with insecure: true or an http:// endpoint)',
  ERR_CONFIG_NO_RECEIVER:
    'no protocol is listed under receivers.otlp.protocols, so no data can come in',
  ERR_CONFIG_NO_EXPORTER:
    'neither exporters.otlp.endpoint nor exporters.console.enabled is set, so nothing goes out',
  ERR_CONFIG_EXPORT_LOOP:
    "exporters.otlp.endpoint points at one of the processor's own receivers",
  ERR_CONFIG_PORT_CLASH:
    'two listeners of the processor (receivers, admin) are configured on the same address',
} as const;

/** One of the codes above. */
export type ConfigErrorCode = keyof typeof CONFIG_ERRORS;

/**
 * One problem in a configuration. `line` and `column` start at 1; both are 0
 * when the problem has no place in a file (an environment variable, the
 * embedded default). `path` is the YAML path (`buffer.idle_timeout`,
 * `rules.files[2]`), '' for the document itself.
 */
export interface ConfigDiagnostic {
  code: string;
  message: string;
  path: string;
  file: string;
  line: number;
  column: number;
}

/** Formats one diagnostic as `file:line:column: CODE: path: message`. */
export function formatConfigDiagnostic(d: ConfigDiagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  const path = d.path === '' ? '' : `${d.path}: `;
  return `${where}: ${d.code}: ${path}${d.message}`;
}
