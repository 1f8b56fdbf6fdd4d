/**
 * The OTLP exporter's Prometheus metrics (prefix `betrace_exporter_`).
 */

import { Counter, Gauge, Histogram } from 'prom-client';

import type { Registry } from 'prom-client';

/** Why a request was given up; the values of the `reason` label. */
export type FailureReason =
  /** The downstream answered with a non-retryable status. */
  | 'rejected'
  /** Retryable failures lasted past retry.max_elapsed_time. */
  | 'retries_exhausted'
  /** The caller's deadline passed before the downstream accepted. */
  | 'deadline'
  /** Still queued or in flight when the shutdown deadline passed. */
  | 'shutdown';

const FAILURE_REASONS: readonly FailureReason[] = [
  'rejected',
  'retries_exhausted',
  'deadline',
  'shutdown',
];

/** How one attempt ended; the values of the `outcome` label. */
export type AttemptResult = 'ok' | 'retryable' | 'permanent';

/** Handles on the exporter's series; labelled children are built once here. */
export interface ExporterMetrics {
  readonly sentRequests: Counter;
  readonly sentSpans: Counter;
  readonly failedRequests: Readonly<Record<FailureReason, Counter.Internal>>;
  readonly failedSpans: Counter;
  readonly retries: Counter;
  readonly refusedRequests: Counter;
  readonly partialSuccess: Counter;
  readonly queueSize: Gauge;
  readonly queueBytes: Gauge;
  readonly queueCapacity: Gauge;
  readonly sendDuration: Readonly<Record<AttemptResult, Histogram.Internal<string>>>;
}

/** Creates the exporter's metrics on `registry`. */
export function createExporterMetrics(registry: Registry): ExporterMetrics {
  const registers = [registry];
  const failedRequests = new Counter({
    name: 'betrace_exporter_failed_requests_total',
    help: 'Export requests given up, by reason (rejected, retries_exhausted, deadline, shutdown).',
    labelNames: ['reason'],
    registers,
  });
  const sendDuration = new Histogram({
    name: 'betrace_exporter_send_duration_seconds',
    help: 'Duration of one export attempt, by outcome (ok, retryable, permanent).',
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });

  return {
    sentRequests: new Counter({
      name: 'betrace_exporter_sent_requests_total',
      help: 'Export requests the downstream accepted.',
      registers,
    }),
    sentSpans: new Counter({
      name: 'betrace_exporter_sent_spans_total',
      help: 'Spans the downstream accepted (partial-success rejections excluded).',
      registers,
    }),
    // Every series exists from the start, so rate() and increase() see the first failure.
    failedRequests: buildChildren(FAILURE_REASONS, (reason) => {
      failedRequests.inc({ reason }, 0);
      return failedRequests.labels(reason);
    }),
    failedSpans: new Counter({
      name: 'betrace_exporter_failed_spans_total',
      help: 'Spans not stored downstream: in given-up requests or rejected through partial success.',
      registers,
    }),
    retries: new Counter({
      name: 'betrace_exporter_retries_total',
      help: 'Export attempts repeated after a retryable failure.',
      registers,
    }),
    refusedRequests: new Counter({
      name: 'betrace_exporter_refused_requests_total',
      help: 'Requests the queue refused because it was full or stopping; the receiver pushed back.',
      registers,
    }),
    partialSuccess: new Counter({
      name: 'betrace_exporter_partial_success_total',
      help: 'Accepted export requests whose response rejected some spans.',
      registers,
    }),
    queueSize: new Gauge({
      name: 'betrace_exporter_queue_size',
      help: 'Requests held by the queue, waiting or being sent.',
      registers,
    }),
    queueBytes: new Gauge({
      name: 'betrace_exporter_queue_bytes',
      help: 'Bytes of the requests held by the queue, waiting or being sent.',
      registers,
    }),
    queueCapacity: new Gauge({
      name: 'betrace_exporter_queue_capacity',
      help: 'Requests the queue holds at most (exporters.otlp.queue.max_requests; 0 when disabled).',
      registers,
    }),
    sendDuration: buildChildren(['ok', 'retryable', 'permanent'] as const, (outcome) => {
      sendDuration.zero({ outcome });
      return sendDuration.labels(outcome);
    }),
  };
}

function buildChildren<K extends string, V>(
  keys: readonly K[],
  make: (key: K) => V,
): Record<K, V> {
  const out = {} as Record<K, V>;
  for (const key of keys) out[key] = make(key);
  return out;
}
