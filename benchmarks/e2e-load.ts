/**
 * The load generator of the end-to-end benchmark (it runs in the parent
 * process): a grpc-js client sending raw OTLP request bytes, driven either
 * closed-loop at a fixed concurrency (throughput), open-loop at a fixed pace
 * (latency), or for a fixed number of requests (memory).
 */

import { performance } from 'node:perf_hooks';

import * as grpc from '@grpc/grpc-js';

import { EXPORT_PATH } from './e2e-sink';

import type { RequestSource } from './e2e-request-source';

/** Sends one request and resolves when the server answered OK. */
export interface ExportClient {
  send(bytes: Buffer): Promise<void>;
  close(): void;
}

/** One closed-loop run. */
export interface ClosedLoopResult {
  /** Spans acknowledged per second within the measured window. */
  readonly spansPerSec: number;
  /** Requests acknowledged within the measured window. */
  readonly requests: number;
  /** Failed sends over the whole run (warm-up included). */
  readonly errors: number;
  /** Spans and bytes sent over the whole run, for checking the sink's counts. */
  readonly sentRequests: number;
  readonly sentBytes: number;
}

/** One request of a paced run, with epoch-ms (fractional) times. */
export interface PacedSend {
  readonly traceIds: readonly string[];
  readonly sentMs: number;
  /** When the answer arrived; NaN when the send failed. */
  readonly ackedMs: number;
}

/** One paced run: every request with its times, and how the run went. */
export interface PacedResult {
  readonly sends: readonly PacedSend[];
  readonly errors: number;
  /** Most requests awaiting an answer at once. */
  readonly maxInFlight: number;
  /** Requests per second actually sent. */
  readonly achievedRate: number;
}

const SEND_TIMEOUT_MS = 10_000;
/** After a failed send, a worker pauses so a refusing target is not spun on. */
const ERROR_PAUSE_MS = 20;

/** Creates a client towards `endpoint` (host:port, plaintext). */
export function createExportClient(endpoint: string): ExportClient {
  const identity = (b: Buffer): Buffer => b;
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.enable_retries': 0,
    'grpc.use_local_subchannel_pool': 1,
  });
  return {
    send: (bytes) =>
      new Promise<void>((resolve, reject) => {
        client.makeUnaryRequest<Buffer, Buffer>(
          EXPORT_PATH,
          identity,
          identity,
          bytes,
          new grpc.Metadata(),
          { deadline: Date.now() + SEND_TIMEOUT_MS },
          (err) => (err ? reject(err) : resolve()),
        );
      }),
    close: () => client.close(),
  };
}

/** Epoch milliseconds with sub-millisecond precision, comparable across processes. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Sends with `concurrency` requests in flight for `warmupMs + measureMs`
 * and counts the answers that arrive inside the measured window.
 */
export async function runClosedLoop(
  client: ExportClient,
  source: RequestSource,
  options: { readonly concurrency: number; readonly warmupMs: number; readonly measureMs: number },
): Promise<ClosedLoopResult> {
  const startedAt = performance.now();
  const windowStart = startedAt + options.warmupMs;
  const windowEnd = windowStart + options.measureMs;
  let inWindow = 0;
  let errors = 0;
  let sentRequests = 0;
  let sentBytes = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < windowEnd) {
      const request = source.next();
      sentRequests++;
      sentBytes += request.bytes.length;
      try {
        await client.send(request.bytes);
        const at = performance.now();
        if (at >= windowStart && at < windowEnd) inWindow++;
      } catch {
        errors++;
        await pause(ERROR_PAUSE_MS);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return {
    spansPerSec: (inWindow * source.spansPerRequest) / (options.measureMs / 1000),
    requests: inWindow,
    errors,
    sentRequests,
    sentBytes,
  };
}

/**
 * Sends `ratePerSec` requests per second for `durationMs` whatever the
 * answers (open loop), and records when each was sent and answered.
 */
export async function runPaced(
  client: ExportClient,
  source: RequestSource,
  options: { readonly ratePerSec: number; readonly durationMs: number },
): Promise<PacedResult> {
  const intervalMs = 1000 / options.ratePerSec;
  const sends: PacedSend[] = [];
  const answers: Promise<void>[] = [];
  let errors = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const startedAt = performance.now();
  let due = startedAt;
  while (due < startedAt + options.durationMs) {
    // Catch up on missed slots at once rather than drifting, so the rate
    // stays the one asked for when the timer fires late.
    while (due <= performance.now()) {
      const request = source.next();
      const sentMs = epochMs();
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      answers.push(
        client.send(request.bytes).then(
          () => {
            inFlight--;
            sends.push({ traceIds: request.traceIds, sentMs, ackedMs: epochMs() });
          },
          () => {
            inFlight--;
            errors++;
            sends.push({ traceIds: request.traceIds, sentMs, ackedMs: Number.NaN });
          },
        ),
      );
      due += intervalMs;
    }
    await pause(Math.max(0, due - performance.now()));
  }
  const elapsedMs = performance.now() - startedAt;
  await Promise.all(answers);
  return { sends, errors, maxInFlight, achievedRate: (answers.length * 1000) / elapsedMs };
}

/** Sends `count` requests with `concurrency` in flight; returns the spans acknowledged. */
export async function sendCount(
  client: ExportClient,
  source: RequestSource,
  count: number,
  concurrency: number,
): Promise<{ spans: number; errors: number }> {
  let next = 0;
  let spans = 0;
  let errors = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      const request = source.next();
      try {
        await client.send(request.bytes);
        spans += request.spans;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { spans, errors };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
