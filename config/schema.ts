/**
 * The shape of the config file: every YAML key, the Config field it fills
 * and the kind of value it takes. The reader (read-document.ts) walks a YAML
 * document against this tree; keys that are not here are rejected.
 */

/** What a leaf key accepts; the reader converts and range-checks it. */
export type LeafKind =
  | { readonly type: 'boolean' }
  | { readonly type: 'integer'; readonly min: number }
  /** A number of MiB, fractions allowed, stored as bytes (rounded down, at least 1). */
  | { readonly type: 'mib'; readonly maxMib: number }
  /** A duration string, stored as milliseconds. */
  | { readonly type: 'duration'; readonly allowZero: boolean }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'string' }
  /** host:port to listen on; port 0 allowed. */
  | { readonly type: 'listen-endpoint' }
  /** host:port or URL to send to, '' for none; checked against the protocol later. */
  | { readonly type: 'dial-endpoint' }
  /** A file path resolved against the config file's folder; '' stays ''. */
  | { readonly type: 'path' }
  /** A list of paths or glob patterns, each resolved against the config file's folder. */
  | { readonly type: 'path-list' }
  /** A mapping of header names to string values. */
  | { readonly type: 'headers' }
  /** One Redis URL or several, comma-separated. */
  | { readonly type: 'redis-url' };

/** A key holding a value. */
export interface SchemaLeaf {
  readonly kind: 'leaf';
  /** The camelCase field of the enclosing Config object that the value fills. */
  readonly field: string;
  readonly value: LeafKind;
}

/** A key holding a mapping. A key with no value means the mapping's defaults. */
export interface SchemaObject {
  readonly kind: 'object';
  /** The Config field holding the nested object; null when the level is flattened away. */
  readonly field: string | null;
  readonly keys: Readonly<Record<string, SchemaNode>>;
}

export type SchemaNode = SchemaLeaf | SchemaObject;

// setTimeout fires at once for delays above 2^31-1 ms, so no duration may exceed it.
/** The longest duration the config accepts, in milliseconds (about 24.8 days). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

// grpc-js keeps message size limits in a signed 32-bit integer.
const MAX_MESSAGE_MIB = 2047;

function leaf(field: string, value: LeafKind): SchemaLeaf {
  return { kind: 'leaf', field, value };
}

function object(field: string | null, keys: Record<string, SchemaNode>): SchemaObject {
  return { kind: 'object', field, keys };
}

const positive = { type: 'integer', min: 1 } as const;
const duration = { type: 'duration', allowZero: false } as const;
const bool = { type: 'boolean' } as const;
const text = { type: 'string' } as const;
const filePath = { type: 'path' } as const;

function receiverTls(): SchemaObject {
  return object('tls', {
    cert_file: leaf('certFile', filePath),
    key_file: leaf('keyFile', filePath),
    client_ca_file: leaf('clientCaFile', filePath),
  });
}

/** The whole config file, rooted at the document. */
export const CONFIG_SCHEMA: SchemaObject = object(null, {
  receivers: object('receivers', {
    otlp: object(null, {
      protocols: object(null, {
        grpc: object('grpc', {
          endpoint: leaf('endpoint', { type: 'listen-endpoint' }),
          max_recv_msg_size_mib: leaf('maxRecvMsgSizeBytes', {
            type: 'mib',
            maxMib: MAX_MESSAGE_MIB,
          }),
          tls: receiverTls(),
        }),
        http: object('http', {
          endpoint: leaf('endpoint', { type: 'listen-endpoint' }),
          max_request_body_size_mib: leaf('maxRequestBodySizeBytes', {
            type: 'mib',
            maxMib: MAX_MESSAGE_MIB,
          }),
          tls: receiverTls(),
        }),
      }),
    }),
  }),
  buffer: object('buffer', {
    type: leaf('type', { type: 'enum', values: ['memory', 'redis'] }),
    max_traces: leaf('maxTraces', positive),
    max_spans_per_trace: leaf('maxSpansPerTrace', positive),
    max_bytes_mib: leaf('maxBytes', { type: 'mib', maxMib: 1024 * 1024 }),
    idle_timeout: leaf('idleTimeoutMs', duration),
    root_grace: leaf('rootGraceMs', { type: 'duration', allowZero: true }),
    max_trace_age: leaf('maxTraceAgeMs', duration),
    on_evict: leaf('onEvict', { type: 'enum', values: ['evaluate', 'drop'] }),
    decided_cache: object('decidedCache', {
      max_traces: leaf('maxTraces', positive),
      ttl: leaf('ttlMs', duration),
    }),
    redis: object('redis', {
      url: leaf('url', { type: 'redis-url' }),
      key_prefix: leaf('keyPrefix', text),
    }),
  }),
  rules: object('rules', {
    files: leaf('files', { type: 'path-list' }),
    api_file: leaf('apiFile', filePath),
    watch: leaf('watch', bool),
  }),
  exporters: object('exporters', {
    otlp: object('otlp', {
      endpoint: leaf('endpoint', { type: 'dial-endpoint' }),
      protocol: leaf('protocol', { type: 'enum', values: ['grpc', 'http/protobuf'] }),
      headers: leaf('headers', { type: 'headers' }),
      tls: object('tls', {
        insecure: leaf('insecure', bool),
        ca_file: leaf('caFile', filePath),
        cert_file: leaf('certFile', filePath),
        key_file: leaf('keyFile', filePath),
        server_name: leaf('serverName', text),
      }),
      compression: leaf('compression', { type: 'enum', values: ['gzip', 'none'] }),
      timeout: leaf('timeoutMs', duration),
      retry: object('retry', {
        initial_interval: leaf('initialIntervalMs', duration),
        max_interval: leaf('maxIntervalMs', duration),
        max_elapsed_time: leaf('maxElapsedTimeMs', duration),
      }),
      queue: object('queue', {
        enabled: leaf('enabled', bool),
        max_requests: leaf('maxRequests', positive),
        max_bytes_mib: leaf('maxBytes', { type: 'mib', maxMib: 1024 * 1024 }),
      }),
    }),
    console: object('console', {
      enabled: leaf('enabled', bool),
    }),
  }),
  signing: object('signing', {
    key_provider: leaf('keyProvider', { type: 'enum', values: ['local'] }),
    key_file: leaf('keyFile', filePath),
  }),
  admin: object('admin', {
    endpoint: leaf('endpoint', { type: 'listen-endpoint' }),
    token_file: leaf('tokenFile', filePath),
  }),
  violations: object('violations', {
    max_records: leaf('maxRecords', positive),
  }),
  shutdown_timeout: leaf('shutdownTimeoutMs', duration),
  telemetry: object('telemetry', {
    logs: object('logs', {
      level: leaf('level', {
        type: 'enum',
        values: ['trace', 'debug', 'info', 'warn', 'error', 'silent'],
      }),
    }),
  }),
});

/** A leaf with its full YAML path and the Config field path it fills. */
export interface SchemaKey {
  /** `buffer.decided_cache.ttl` */
  readonly path: string;
  /** `buffer.decidedCache.ttlMs` */
  readonly fieldPath: string;
  readonly value: LeafKind;
}

/** Lists every leaf key of the schema in file order. */
export function listSchemaKeys(node: SchemaObject = CONFIG_SCHEMA): SchemaKey[] {
  const found: SchemaKey[] = [];
  const visit = (obj: SchemaObject, path: string, fieldPath: string): void => {
    for (const [key, child] of Object.entries(obj.keys)) {
      const childPath = path === '' ? key : `${path}.${key}`;
      const field = child.field === null ? fieldPath : join(fieldPath, child.field);
      if (child.kind === 'object') {
        visit(child, childPath, field);
      } else {
        found.push({ path: childPath, fieldPath: field, value: child.value });
      }
    }
  };
  visit(node, '', '');
  return found;
}

function join(base: string, field: string): string {
  return base === '' ? field : `${base}.${field}`;
}
