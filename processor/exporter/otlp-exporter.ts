/**
 * The OTLP exporter: a bounded queue in front of a gRPC or HTTP transport,
 * with retry of retryable failures, metrics and rate-limited failure logs.
 */

import { setMaxListeners } from 'node:events';

import { BetraceError } from '../errors';
import { ExportQueue } from './export-queue';
import { createFailureLog } from './failure-log';
import { createGrpcTransport } from './grpc-transport';
import { createHttpTransport } from './http-transport';
import { createExporterMetrics } from './metrics';
import { SYSTEM_CLOCK, sendWithRetry } from './retry';

import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

import type { OtlpExporterConfig } from '../../config/types';
import type { QueueItem } from './export-queue';
import type { FailureLog } from './failure-log';
import type { ExporterMetrics, FailureReason } from './metrics';
import type { RetryClock, RetryOptions, RetryResult, RetryStop } from './retry';
import type { ExportTransport } from './transport';
import type { ExportSink } from './types';

/**
 * Concurrent senders draining the queue. One would leave the downstream idle
 * for a round trip after every answer; 8 in-flight requests keep an HTTP/2
 * connection busy across a WAN round trip, while more only add reordering
 * and contention on a small machine. It also bounds a retry storm.
 */
const SENDER_CONCURRENCY = 8;
const FAILURE_LOG_INTERVAL_MS = 10_000;
/** After the shutdown deadline, how long aborted attempts get to settle. */
const ABORT_GRACE_MS = 1_000;

/** What the exporter needs; the optional parts exist for tests and benchmarks. */
export interface OtlpExporterDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  /** Default: the process clock. */
  readonly clock?: RetryClock;
  /** Uniform in [0, 1), for backoff jitter. Default Math.random. */
  readonly random?: () => number;
  /** Concurrent senders draining the queue. Default 8. */
  readonly concurrency?: number;
  /** Interval of the failure-log summaries. Default 10 s. */
  readonly failureLogIntervalMs?: number;
}

/**
 * Creates the OTLP exporter for `config`. Throws ERR_PROCESSOR_STARTUP when
 * it cannot be built (no endpoint, a TLS file unreadable).
 */
export function createOtlpExporter(
  config: OtlpExporterConfig,
  deps: OtlpExporterDeps,
): ExportSink {
  return new OtlpExporter(config, deps);
}

class OtlpExporter implements ExportSink {
  readonly queueEnabled: boolean;
  private readonly config: OtlpExporterConfig;
  private readonly transport: ExportTransport;
  private readonly metrics: ExporterMetrics;
  private readonly log: Logger;
  private readonly failures: FailureLog;
  private readonly clock: RetryClock;
  private readonly random: () => number;
  private readonly queue: ExportQueue | null;
  private readonly stopSignal = new AbortController();

  private stopping: Promise<void> | null = null;
  private directSends = 0;
  private directIdleWaiters: Array<() => void> = [];
  private refusing = false;
  private refusedWhileFull = 0;
  private abandoned = { requests: 0, spans: 0 };

  constructor(config: OtlpExporterConfig, deps: OtlpExporterDeps) {
    if (config.endpoint === '') {
      throw new BetraceError(
        'ERR_PROCESSOR_STARTUP',
        'exporters.otlp.endpoint is not set',
      );
    }

    this.config = config;
    this.queueEnabled = config.queue.enabled;
    this.log = deps.logger.child({ component: 'exporter/otlp' });
    this.clock = deps.clock ?? SYSTEM_CLOCK;
    this.random = deps.random ?? Math.random;
    const intervalMs = deps.failureLogIntervalMs ?? FAILURE_LOG_INTERVAL_MS;
    this.failures = createFailureLog(this.log, intervalMs, this.clock);
    // Every running attempt listens on the stop signal and removes its
    // listener when it ends; without a queue there may be many more than 10.
    setMaxListeners(0, this.stopSignal.signal);
    this.transport =
      config.protocol === 'grpc'
        ? createGrpcTransport(config)
        : createHttpTransport(config);

    this.metrics = createExporterMetrics(deps.registry);
    this.metrics.queueCapacity.set(
      config.queue.enabled ? config.queue.maxRequests : 0,
    );
    this.queue = config.queue.enabled
      ? new ExportQueue({
          maxRequests: config.queue.maxRequests,
          maxBytes: config.queue.maxBytes,
          concurrency: deps.concurrency ?? SENDER_CONCURRENCY,
          process: async (item) => {
            await this.deliver(item, Infinity);
          },
          onChange: (requests, bytes) => this.onQueueChange(requests, bytes),
        })
      : null;

    this.log.info(
      {
        endpoint: this.transport.target,
        protocol: config.protocol,
        compression: config.compression,
        queue: config.queue.enabled,
        maxRequests: config.queue.maxRequests,
        maxBytes: config.queue.maxBytes,
      },
      'exporter started',
    );
  }

  shutdown(deadlineMs: number): Promise<void> {
    this.stopping ??= this.stop(deadlineMs);
    return this.stopping;
  }

  offer(
    request: Uint8Array,
    spans: number,
    options?: { force?: boolean },
  ): boolean {
    if (!this.queue) {
      throw new BetraceError(
        'ERR_EXPORTER_QUEUE_DISABLED',
        'offer called while exporters.otlp.queue.enabled is false',
      );
    }
    if (this.queue.offer({ request, spans }, options?.force === true)) {
      return true;
    }

    this.metrics.refusedRequests.inc();
    if (!this.stopping) this.noteRefusal();
    return false;
  }

  async send(
    request: Uint8Array,
    spans: number,
    options?: { deadlineMs?: number },
  ): Promise<void> {
    if (this.stopping) {
      this.metrics.refusedRequests.inc();
      throw new BetraceError(
        'ERR_EXPORTER_SHUT_DOWN',
        'the exporter is shutting down',
        { retryable: true },
      );
    }

    this.directSends++;
    try {
      const deadlineAt = options?.deadlineMs ?? Infinity;
      const error = await this.deliver({ request, spans }, deadlineAt);
      if (error) throw error;
    } finally {
      this.directSends--;
      if (this.directSends === 0) this.releaseDirectWaiters();
    }
  }

  isFull(): boolean {
    return this.queue?.isFull() ?? false;
  }

  private async stop(deadlineMs: number): Promise<void> {
    this.queue?.stopAccepting();
    const idle = Promise.all([this.queue?.whenIdle(), this.whenDirectIdle()]);
    const waitMs = deadlineMs - this.clock.now();
    const drained = await this.settlesWithin(idle, waitMs);

    if (!drained) {
      for (const item of this.queue?.takeWaiting() ?? []) {
        this.countFailure(item, 'shutdown');
      }
      // Running attempts and backoff waits end now; they count as shutdown.
      this.stopSignal.abort();
      await this.settlesWithin(idle, ABORT_GRACE_MS);
    }

    if (this.abandoned.requests > 0) {
      this.log.warn(
        { requests: this.abandoned.requests, spans: this.abandoned.spans },
        'export not finished by the shutdown deadline; requests dropped',
      );
    }
    this.failures.flush();
    this.transport.close();
    this.log.info(
      { endpoint: this.transport.target, drained },
      'exporter stopped',
    );
  }

  /** Sends one request with retries; returns the error to report, or null. */
  private async deliver(
    item: QueueItem,
    deadlineAt: number,
  ): Promise<BetraceError | null> {
    try {
      const prepared = await this.transport.prepare(item.request);
      const options = this.retryOptions(item, deadlineAt);
      return this.settle(item, await sendWithRetry(prepared, options));
    } catch (err) {
      // Only an encoding failure or a defect gets here: retrying cannot help.
      this.countFailure(item, 'rejected');
      this.log.error({ err, spans: item.spans }, 'export failed; dropped');
      return new BetraceError(
        'ERR_EXPORTER_PERMANENT',
        `export failed before reaching the downstream: ${String(err)}`,
        { cause: err },
      );
    }
  }

  private retryOptions(item: QueueItem, deadlineAt: number): RetryOptions {
    return {
      policy: this.config.retry,
      timeoutMs: this.config.timeoutMs,
      deadlineAt,
      clock: this.clock,
      random: this.random,
      signal: this.stopSignal.signal,
      onAttempt: (outcome, durationMs) => {
        const label = outcome.ok
          ? 'ok'
          : outcome.retryable
            ? 'retryable'
            : 'permanent';
        this.metrics.sendDuration[label].observe(durationMs / 1000);
      },
      onRetry: (failure, delayMs) => {
        this.metrics.retries.inc();
        const fields = {
          status: failure.status,
          err: failure.message,
          delayMs: Math.round(delayMs),
          spans: item.spans,
        };
        this.failures.report('retrying', fields, 'export attempt failed; retrying');
      },
    };
  }

  /** Counts and logs the end of one request; returns the error to report. */
  private settle(item: QueueItem, result: RetryResult): BetraceError | null {
    const { outcome } = result;
    if (outcome.ok) {
      this.countSuccess(item, outcome.rejectedSpans, outcome.message);
      return null;
    }

    const reason = toFailureReason(result.stop);
    this.countFailure(item, reason);
    const detail = `(${outcome.status}): ${outcome.message}`;
    const fields = {
      status: outcome.status,
      err: outcome.message,
      attempts: result.attempts,
      spans: item.spans,
    };
    if (reason === 'rejected') {
      this.failures.report(
        'rejected',
        fields,
        'export rejected by the downstream; dropped',
      );
      return new BetraceError(
        'ERR_EXPORTER_PERMANENT',
        `downstream rejected the export ${detail}`,
      );
    }
    if (reason === 'shutdown') {
      // Summed up in one line by stop().
      return new BetraceError(
        'ERR_EXPORTER_SHUT_DOWN',
        `the exporter stopped before the downstream accepted ${detail}`,
        { retryable: true },
      );
    }

    this.failures.report('given_up', { ...fields, reason }, 'export failed');
    const what =
      reason === 'deadline'
        ? 'not accepted before the deadline'
        : 'failed after retrying';
    return new BetraceError(
      outcome.timedOut ? 'ERR_EXPORTER_TIMEOUT' : 'ERR_EXPORTER_SEND_FAILED',
      `export ${what}, ${result.attempts} attempts ${detail}`,
      { retryable: true },
    );
  }

  private countSuccess(item: QueueItem, rejectedSpans: number, message: string): void {
    const rejected = Math.min(item.spans, rejectedSpans);
    this.metrics.sentRequests.inc();
    this.metrics.sentSpans.inc(item.spans - rejected);
    if (rejectedSpans === 0) return;

    this.metrics.partialSuccess.inc();
    this.metrics.failedSpans.inc(rejected);
    this.failures.report(
      'partial_success',
      { rejectedSpans, spans: item.spans, err: message },
      'downstream rejected some spans',
    );
  }

  private countFailure(item: QueueItem, reason: FailureReason): void {
    this.metrics.failedRequests[reason].inc();
    this.metrics.failedSpans.inc(item.spans);
    if (reason === 'shutdown') {
      this.abandoned.requests++;
      this.abandoned.spans += item.spans;
    }
  }

  private noteRefusal(): void {
    this.refusedWhileFull++;
    if (this.refusing) return;

    this.refusing = true;
    // Logged when refusing starts and when it ends, never per request.
    this.log.warn(
      {
        requests: this.queue?.size,
        bytes: this.queue?.bytes,
        maxRequests: this.config.queue.maxRequests,
        maxBytes: this.config.queue.maxBytes,
      },
      'export queue full; refusing requests',
    );
  }

  private onQueueChange(requests: number, bytes: number): void {
    this.metrics.queueSize.set(requests);
    this.metrics.queueBytes.set(bytes);
    if (!this.refusing || !this.queue || this.queue.isFull()) return;

    this.refusing = false;
    this.log.info(
      { refused: this.refusedWhileFull },
      'export queue accepting again',
    );
    this.refusedWhileFull = 0;
  }

  private whenDirectIdle(): Promise<void> {
    if (this.directSends === 0) return Promise.resolve();
    return new Promise((resolve) => this.directIdleWaiters.push(resolve));
  }

  private releaseDirectWaiters(): void {
    const waiters = this.directIdleWaiters;
    this.directIdleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves true if `work` settles within `waitMs`, false otherwise. */
  private settlesWithin(work: Promise<unknown>, waitMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      // A passed deadline still waits one timer turn, so that work that has
      // already settled counts as drained.
      const handle = this.clock.setTimeout(
        () => resolve(false),
        Math.max(0, waitMs),
      );
      void work.then(() => {
        this.clock.clearTimeout(handle);
        resolve(true);
      });
    });
  }
}

function toFailureReason(stop: RetryStop | null): FailureReason {
  if (stop === 'permanent') return 'rejected';
  if (stop === 'deadline') return 'deadline';
  if (stop === 'aborted') return 'shutdown';
  return 'retries_exhausted';
}
