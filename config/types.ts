/**
 * The validated configuration, in camelCase. The YAML keys are snake_case
 * (PRODUCT.md section 8); the loader converts them in one place. Durations
 * are milliseconds, sizes bytes.
 */

/** TLS for a receiver; off unless both certFile and keyFile are set. */
export interface ReceiverTlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** When set, clients must present a certificate signed by this CA. */
  readonly clientCaFile: string;
}

export interface GrpcReceiverConfig {
  /** host:port */
  readonly endpoint: string;
  readonly maxRecvMsgSizeBytes: number;
  readonly tls: ReceiverTlsConfig;
}

export interface HttpReceiverConfig {
  readonly endpoint: string;
  readonly maxRequestBodySizeBytes: number;
  readonly tls: ReceiverTlsConfig;
}

export interface ReceiversConfig {
  /** null when the protocol is not listed. */
  readonly grpc: GrpcReceiverConfig | null;
  readonly http: HttpReceiverConfig | null;
}

export interface RedisBufferConfig {
  /** One URL, or several comma-separated cluster nodes. */
  readonly url: string;
  readonly keyPrefix: string;
}

export interface BufferConfig {
  readonly type: 'memory' | 'redis';
  readonly maxTraces: number;
  readonly maxSpansPerTrace: number;
  readonly maxBytes: number;
  readonly idleTimeoutMs: number;
  readonly rootGraceMs: number;
  readonly maxTraceAgeMs: number;
  readonly onEvict: 'evaluate' | 'drop';
  readonly decidedCache: { readonly maxTraces: number; readonly ttlMs: number };
  readonly redis: RedisBufferConfig;
}

export interface RulesConfig {
  /** Glob patterns or paths, resolved against the config file's folder. */
  readonly files: readonly string[];
  /** The file the rules API writes; '' when the API cannot persist. */
  readonly apiFile: string;
  readonly watch: boolean;
}

export interface ExporterTlsConfig {
  readonly insecure: boolean;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly serverName: string;
}

export interface RetryConfig {
  readonly initialIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly maxElapsedTimeMs: number;
}

export interface QueueConfig {
  readonly enabled: boolean;
  readonly maxRequests: number;
  readonly maxBytes: number;
}

export interface OtlpExporterConfig {
  /** host:port, or a URL for http/protobuf; '' when no OTLP exporter is configured. */
  readonly endpoint: string;
  readonly protocol: 'grpc' | 'http/protobuf';
  readonly headers: Readonly<Record<string, string>>;
  readonly tls: ExporterTlsConfig;
  readonly compression: 'gzip' | 'none';
  readonly timeoutMs: number;
  readonly retry: RetryConfig;
  readonly queue: QueueConfig;
}

export interface ExportersConfig {
  readonly otlp: OtlpExporterConfig;
  readonly console: { readonly enabled: boolean };
}

export interface SigningConfig {
  readonly keyProvider: 'local';
  /** '' when no key file is configured. */
  readonly keyFile: string;
  /** From BETRACE_SIGNING_KEY; '' when unset. */
  readonly keyFromEnv: string;
}

export interface AdminConfig {
  readonly endpoint: string;
  readonly tokenFile: string;
  /** From BETRACE_ADMIN_TOKEN; '' when unset. */
  readonly tokenFromEnv: string;
}

export interface Config {
  /** The config file's path, or '' for the embedded default. */
  readonly source: string;
  readonly receivers: ReceiversConfig;
  readonly buffer: BufferConfig;
  readonly rules: RulesConfig;
  readonly exporters: ExportersConfig;
  readonly signing: SigningConfig;
  readonly admin: AdminConfig;
  readonly violations: { readonly maxRecords: number };
  readonly shutdownTimeoutMs: number;
  readonly telemetry: {
    readonly logs: { readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent' };
  };
}
