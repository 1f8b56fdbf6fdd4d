/**
 * The receivers' own Prometheus metrics: spans received and refused, requests
 * refused and request duration, each by transport. Label values come from
 * fixed lists, so the series count is bounded.
 */

import { Counter, Histogram } from 'prom-client';

import type { Registry } from 'prom-client';

import type { IngestResult, Transport } from './ingest';

const TRANSPORTS: readonly Transport[] = ['grpc', 'http'];

/** Why a whole request was refused (`betrace_requests_refused_total{reason}`). */
export type RequestRefusalReason =
  | 'malformed'
  | 'too_large'
  | 'bad_gzip'
  | 'unsupported_media_type'
  | 'unsupported_encoding'
  | 'export_loop'
  | 'queue_full'
  | 'unavailable'
  | 'shutting_down'
  | 'internal';

/** Why spans were refused (`betrace_spans_refused_total{reason}`). */
export type SpanRefusalReason = 'invalid_span' | 'queue_full' | 'unavailable' | 'shutting_down';

const REQUEST_REASONS: readonly RequestRefusalReason[] = [
  'malformed',
  'too_large',
  'bad_gzip',
  'unsupported_media_type',
  'unsupported_encoding',
  'export_loop',
  'queue_full',
  'unavailable',
  'shutting_down',
  'internal',
];

const SPAN_REASONS: readonly SpanRefusalReason[] = [
  'invalid_span',
  'queue_full',
  'unavailable',
  'shutting_down',
];

// Requests take from well under a millisecond (small batches) to seconds
// (queue disabled, waiting on the downstream).
const DURATION_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** What the receivers count; one instance is shared by the gRPC and HTTP receivers. */
export interface ReceiverMetrics {
  /** Counts an acknowledged request: its spans, and those rejected through partial success. */
  recordAccepted(transport: Transport, result: IngestResult): void;
  /**
   * Counts a refused request; `spans` is its span count when known, and
   * moves the span counter for the reasons that have a span series.
   */
  recordRefused(transport: Transport, reason: RequestRefusalReason, spans: number | null): void;
  /** Observes the time from a trace request's arrival to its answer. */
  observeDurationSeconds(transport: Transport, seconds: number): void;
}

type ChildCounter = ReturnType<Counter<string>['labels']>;
type ChildHistogram = ReturnType<Histogram<string>['labels']>;

/**
 * Registers the receiver metrics in `registry` and returns the recorder.
 * Call it once per registry: prom-client refuses a second registration.
 */
export function createReceiverMetrics(registry: Registry): ReceiverMetrics {
  const received = new Counter({
    name: 'betrace_spans_received_total',
    help:
      'Spans in requests the receivers acknowledged, '
      + 'including those rejected through partial success.',
    labelNames: ['transport'],
    registers: [registry],
  });
  const spansRefused = new Counter({
    name: 'betrace_spans_refused_total',
    help:
      'Spans refused at intake: invalid spans through partial success, '
      + 'or whole requests pushed back.',
    labelNames: ['transport', 'reason'],
    registers: [registry],
  });
  const requestsRefused = new Counter({
    name: 'betrace_requests_refused_total',
    help: 'Trace requests answered with an error status.',
    labelNames: ['transport', 'reason'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'betrace_receiver_request_duration_seconds',
    help: 'Time from the arrival of a trace request to its answer.',
    labelNames: ['transport'],
    buckets: DURATION_BUCKETS_SECONDS,
    registers: [registry],
  });

  // Children are built once so that recording is a map lookup and an add,
  // and every series is exported (at zero) from the start.
  const receivedBy = new Map<Transport, ChildCounter>();
  const durationBy = new Map<Transport, ChildHistogram>();
  const spansRefusedBy = new Map<string, ChildCounter>();
  const requestsRefusedBy = new Map<string, ChildCounter>();
  const zeroed = (child: ChildCounter): ChildCounter => {
    child.inc(0);
    return child;
  };
  for (const transport of TRANSPORTS) {
    receivedBy.set(transport, zeroed(received.labels(transport)));
    duration.zero({ transport });
    durationBy.set(transport, duration.labels(transport));
    for (const reason of SPAN_REASONS) {
      const child = zeroed(spansRefused.labels(transport, reason));
      spansRefusedBy.set(`${transport}/${reason}`, child);
    }
    for (const reason of REQUEST_REASONS) {
      const child = zeroed(requestsRefused.labels(transport, reason));
      requestsRefusedBy.set(`${transport}/${reason}`, child);
    }
  }

  return {
    recordAccepted(transport, result) {
      if (result.total > 0) receivedBy.get(transport)?.inc(result.total);
      if (result.rejected > 0) {
        spansRefusedBy.get(`${transport}/invalid_span`)?.inc(result.rejected);
      }
    },
    recordRefused(transport, reason, spans) {
      requestsRefusedBy.get(`${transport}/${reason}`)?.inc();
      if (spans !== null && spans > 0) spansRefusedBy.get(`${transport}/${reason}`)?.inc(spans);
    },
    observeDurationSeconds(transport, seconds) {
      durationBy.get(transport)?.observe(seconds);
    },
  };
}
