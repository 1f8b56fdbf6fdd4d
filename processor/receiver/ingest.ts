/**
 * The seam between the receivers and the pipeline: a receiver hands over one
 * ExportTraceServiceRequest as protobuf bytes and answers its sender from the
 * outcome. Also the lifecycle every receiver shares.
 */

import { BetraceError } from '../errors';

import type { Logger } from 'pino';

import type { BetraceErrorOptions } from '../errors';
import type { ReceiverMetrics } from './metrics';

/** Which receiver a request came through; also the `transport` metric label. */
export type Transport = 'grpc' | 'http';

/** What the pipeline did with one accepted request. */
export interface IngestResult {
  /** Spans in the request. */
  readonly total: number;
  /** Spans rejected (partial success). */
  readonly rejected: number;
  /** Partial-success error message; '' when nothing was rejected. */
  readonly message: string;
}

/**
 * The pipeline side: takes one ExportTraceServiceRequest as protobuf bytes.
 * Resolves when the request may be acknowledged; rejects with a BetraceError:
 * a non-retryable one (bad input, e.g. code ERR_PROTO_MALFORMED) maps to
 * INVALID_ARGUMENT / 400, a retryable one (queue full, Redis down, downstream
 * down with the queue disabled, shutting down) to UNAVAILABLE / 503 with
 * Retry-After. Any other rejection is answered INTERNAL / 500.
 */
export interface TraceIngest {
  /**
   * `deadlineMs` (epoch ms) is when the sender stops waiting, a gRPC call's
   * deadline; work that only serves the answer (forwarding with the queue
   * disabled) gives up then instead of finishing for nobody.
   */
  ingest(request: Uint8Array, transport: Transport, deadlineMs?: number): Promise<IngestResult>;
}

/** Options of an IngestRefusedError. */
export interface IngestRefusedOptions extends BetraceErrorOptions {
  /** How long the sender should wait before retrying; 0 or absent = the receiver's default. */
  readonly retryAfterMs?: number;
}

/** A refusal that knows how many spans it refused (for metrics). */
export class IngestRefusedError extends BetraceError {
  /** Spans in the refused request. */
  readonly spans: number;
  /** Retry hint for the sender in milliseconds; 0 = the receiver's default. */
  readonly retryAfterMs: number;

  constructor(code: string, message: string, spans: number, options: IngestRefusedOptions = {}) {
    super(code, message, options);
    this.name = 'IngestRefusedError';
    this.spans = spans;
    this.retryAfterMs = options.retryAfterMs ?? 0;
  }
}

/** One listening OTLP receiver (gRPC or HTTP). */
export interface Receiver {
  /**
   * host:port actually bound once started (so port 0 reports the port the
   * system picked); the configured endpoint before that.
   */
  readonly endpoint: string;
  /** Binds and starts serving; rejects with ERR_PROCESSOR_STARTUP when it cannot. */
  start(): Promise<void>;
  /**
   * Stops accepting requests, lets in-flight ones finish until `deadlineMs`
   * (epoch milliseconds), then closes every connection that is left.
   */
  shutdown(deadlineMs: number): Promise<void>;
}

/** What a receiver needs besides its config and the pipeline. */
export interface ReceiverDeps {
  readonly logger: Logger;
  readonly metrics: ReceiverMetrics;
  /** This processor's id as its exporter sends it (loop-guard.ts); none: no check. */
  readonly processorId?: string;
}
