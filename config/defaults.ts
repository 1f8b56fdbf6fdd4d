/**
 * The one table of configuration defaults (PRODUCT.md section 8). Every
 * field says what it means and what 0 or empty means; config/reference.md
 * documents the same keys for operators, and a test checks that the two
 * agree.
 */

import type { Config } from './types';

const MIB = 1024 * 1024;
const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;

/**
 * Returns a fresh copy of the defaults. Both receiver protocols are filled
 * in with the values a protocol takes when it is listed; the loader sets
 * the ones that are not listed to null, so this object on its own has no
 * way in and no way out and is not a usable configuration.
 */
export function createDefaultConfig(): Config {
  return {
    /** The config file's path; '' for the embedded default. */
    source: '',
    receivers: {
      grpc: {
        /** Address the OTLP/gRPC receiver listens on; port 0 picks a free port. */
        endpoint: '127.0.0.1:4317',
        /** Largest request accepted after decompression; 0 is rejected. */
        maxRecvMsgSizeBytes: 16 * MIB,
        /** Empty cert and key files: plaintext. */
        tls: { certFile: '', keyFile: '', clientCaFile: '' },
      },
      http: {
        /** Address the OTLP/HTTP receiver listens on; port 0 picks a free port. */
        endpoint: '127.0.0.1:4318',
        /** Largest body accepted, before and after decompression; 0 is rejected. */
        maxRequestBodySizeBytes: 16 * MIB,
        /** Empty cert and key files: plaintext; empty client CA: no client certificates. */
        tls: { certFile: '', keyFile: '', clientCaFile: '' },
      },
    },
    buffer: {
      /** Where traces wait for completion: this process's memory, or Redis shared by a fleet. */
      type: 'memory',
      /** Traces held at once; more evicts the least recently updated. 0 is rejected. */
      maxTraces: 50_000,
      /** A trace reaching this many spans completes at once (trigger span_cap). 0 is rejected. */
      maxSpansPerTrace: 10_000,
      /** Memory the buffered spans may use; above it traces are evicted. 0 is rejected. */
      maxBytes: 512 * MIB,
      /** A trace with no new span for this long completes (trigger idle). 0 is rejected. */
      idleTimeoutMs: 5 * SECOND_MS,
      /** Wait after the root span before completing (trigger root); 0: complete at once. */
      rootGraceMs: 2 * SECOND_MS,
      /** Age since the first span at which a trace completes regardless (trigger max_age); not 0. */
      maxTraceAgeMs: 30 * SECOND_MS,
      /** An evicted trace is evaluated as it is (trigger evicted), or dropped unevaluated. */
      onEvict: 'evaluate',
      /** Trace IDs already evaluated, so that their late spans are recognised; neither may be 0. */
      decidedCache: { maxTraces: 100_000, ttlMs: 10 * MINUTE_MS },
      redis: {
        /** Used only with type redis; several comma-separated URLs name cluster nodes. */
        url: 'redis://127.0.0.1:6379',
        /** Prefix of every key the processor writes; empty: no prefix. */
        keyPrefix: 'betrace:',
      },
    },
    rules: {
      /**
       * Rule files or glob patterns, resolved against the config file's
       * folder; the rule loader expands them and skips `apiFile`, which is
       * loaded once on its own. Empty: only the API's rules (none: every
       * span is forwarded and nothing is evaluated).
       */
      files: [],
      /** The file the rules API persists to; '' means API changes last until restart. */
      apiFile: '',
      /** Reload rule files when they change on disk. */
      watch: true,
    },
    exporters: {
      otlp: {
        /** host:port (gRPC) or a URL (http/protobuf) of the downstream; '' means no OTLP exporter. */
        endpoint: '',
        /** grpc or http/protobuf. */
        protocol: 'grpc',
        /** Sent with every export (gRPC metadata or HTTP headers); empty: none. */
        headers: {},
        /** insecure: true is plaintext; empty files: the system CAs, no client certificate. */
        tls: { insecure: false, caFile: '', certFile: '', keyFile: '', serverName: '' },
        /** gzip or none. */
        compression: 'gzip',
        /** Deadline of one export attempt; 0 is rejected. */
        timeoutMs: 5 * SECOND_MS,
        /**
         * The wait between attempts doubles from initial to max; a request
         * failing for max elapsed is dropped. None may be 0.
         */
        retry: {
          initialIntervalMs: 5 * SECOND_MS,
          maxIntervalMs: 30 * SECOND_MS,
          maxElapsedTimeMs: 300 * SECOND_MS,
        },
        /**
         * Requests waiting to be sent; when full the receivers push back.
         * enabled: false means a request is acknowledged only after the
         * downstream accepted it. Limits of 0 are rejected.
         */
        queue: { enabled: true, maxRequests: 1000, maxBytes: 256 * MIB },
      },
      /** Prints violations and compliance evidence to stdout; on in the embedded default. */
      console: { enabled: false },
    },
    signing: {
      /** Where the signing key comes from; only local (a file or BETRACE_SIGNING_KEY) exists. */
      keyProvider: 'local',
      /** The key ring file; '' means the key comes from BETRACE_SIGNING_KEY or spans go unsigned. */
      keyFile: '',
      /** Set from BETRACE_SIGNING_KEY only; never read from the file. */
      keyFromEnv: '',
    },
    admin: {
      /** Address of /metrics, /healthz, /readyz and the APIs; port 0 picks a free port. */
      endpoint: '127.0.0.1:8888',
      /** A file holding the bearer token; '' (and no BETRACE_ADMIN_TOKEN): no token asked. */
      tokenFile: '',
      /** Set from BETRACE_ADMIN_TOKEN only; never read from the file. */
      tokenFromEnv: '',
    },
    /** Violations kept for the violations API, newest first; 0 is rejected. */
    violations: { maxRecords: 10_000 },
    /** On SIGTERM: time to stop receiving, evaluate, flush and exit; 0 is rejected. */
    shutdownTimeoutMs: 30 * SECOND_MS,
    /** Log level of the processor's own logs; silent writes none. */
    telemetry: { logs: { level: 'info' } },
  };
}
