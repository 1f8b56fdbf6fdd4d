/** Configs, metrics and log capture shared by the receiver tests. */

import pino from 'pino';
import { Registry } from 'prom-client';

import type { Logger } from 'pino';

import type { GrpcReceiverConfig, HttpReceiverConfig, ReceiverTlsConfig } from '../../config/types';
import { createReceiverMetrics } from '../../processor/receiver/metrics';

import type { ReceiverDeps } from '../../processor/receiver/ingest';

/** TLS off. */
export const NO_TLS: ReceiverTlsConfig = { certFile: '', keyFile: '', clientCaFile: '' };

/** A gRPC receiver config on a free loopback port. */
export function grpcConfig(overrides: Partial<GrpcReceiverConfig> = {}): GrpcReceiverConfig {
  return { endpoint: '127.0.0.1:0', maxRecvMsgSizeBytes: 16 * 1024 * 1024, tls: NO_TLS, ...overrides };
}

/** An HTTP receiver config on a free loopback port. */
export function httpConfig(overrides: Partial<HttpReceiverConfig> = {}): HttpReceiverConfig {
  return { endpoint: '127.0.0.1:0', maxRequestBodySizeBytes: 16 * 1024 * 1024, tls: NO_TLS, ...overrides };
}

/** Receiver dependencies whose logs and metrics a test can read. */
export interface TestDeps extends ReceiverDeps {
  readonly registry: Registry;
  /** Every log line written so far, parsed. */
  readonly logs: Record<string, unknown>[];
}

/** Creates receiver dependencies with a fresh registry and an in-memory log. */
export function createTestDeps(): TestDeps {
  const registry = new Registry();
  const logs: Record<string, unknown>[] = [];
  const logger: Logger = pino(
    { level: 'info' },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { registry, logs, logger, metrics: createReceiverMetrics(registry) };
}

/**
 * The value of one series, 0 when it does not exist. For a histogram, name
 * the `_count` or `_sum` series.
 */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const base = name.replace(/_(count|sum|bucket)$/, '');
  const metric = registry.getSingleMetric(base);
  if (metric === undefined) throw new Error(`no metric ${base}`);
  const { values } = await metric.get();
  const match = (values as Array<(typeof values)[number] & { metricName?: string }>).find(
    (v) =>
      (v.metricName ?? base) === name &&
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return match?.value ?? 0;
}

/** `betrace_requests_refused_total` for one transport and reason. */
export function refusedRequests(deps: TestDeps, transport: string, reason: string): Promise<number> {
  return metricValue(deps.registry, 'betrace_requests_refused_total', { transport, reason });
}

/** `betrace_spans_refused_total` for one transport and reason. */
export function refusedSpans(deps: TestDeps, transport: string, reason: string): Promise<number> {
  return metricValue(deps.registry, 'betrace_spans_refused_total', { transport, reason });
}

/** The number of trace requests timed by the duration histogram. */
export function timedRequests(deps: TestDeps, transport: string): Promise<number> {
  return metricValue(deps.registry, 'betrace_receiver_request_duration_seconds_count', { transport });
}
