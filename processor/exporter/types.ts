/**
 * What the receivers and the emitter hand their OTLP requests to.
 */

/** The downstream side of the pipeline: a queue, a direct send, and shutdown. */
export interface ExportSink {
  /** True when requests are queued (exporters.otlp.queue.enabled). */
  readonly queueEnabled: boolean;
  /**
   * Queues a protobuf ExportTraceServiceRequest holding `spans` spans.
   * Returns false (and queues nothing) when the queue is over max_requests or
   * max_bytes, or stopping; the receiver then pushes back. `force` queues even
   * past the bound, for the small spans the processor creates itself, which
   * must not be dropped. Only valid when queueEnabled (throws
   * ERR_EXPORTER_QUEUE_DISABLED otherwise).
   */
  offer(request: Uint8Array, spans: number, options?: { force?: boolean }): boolean;
  /**
   * Sends now, retrying retryable failures per the retry policy, and resolves
   * once the downstream accepted. Rejects with a BetraceError: retryable for
   * UNAVAILABLE-like failures that exhausted retries or hit the deadline (or a
   * stopping exporter), not retryable for permanent rejections. `deadlineMs`
   * is an epoch time in ms (for example a gRPC call's deadline). Works with or
   * without the queue; sent requests do not count against its bounds.
   */
  send(
    request: Uint8Array,
    spans: number,
    options?: { deadlineMs?: number },
  ): Promise<void>;
  /** True while the queue is at its bound (readyz turns not ready). */
  isFull(): boolean;
  /**
   * Stops taking work and drains the queue until `deadlineMs` (epoch ms);
   * what is left then is counted as failed and logged once.
   */
  shutdown(deadlineMs: number): Promise<void>;
}
