/**
 * What the retry loop needs from a wire protocol: one attempt at a time,
 * answered with a classified outcome instead of a thrown error.
 */

/** The downstream accepted the request, perhaps rejecting some of its spans. */
export interface AttemptAccepted {
  readonly ok: true;
  /** partial_success.rejected_spans; 0 when the response had none. */
  readonly rejectedSpans: number;
  /** partial_success.error_message; '' when absent. */
  readonly message: string;
}

/** The attempt failed. */
export interface AttemptFailed {
  readonly ok: false;
  /** True when the OTLP failure semantics allow sending the same request again. */
  readonly retryable: boolean;
  /** True when the attempt ran out of its per-attempt timeout. */
  readonly timedOut: boolean;
  /** Short status for logs: a gRPC status name, `http_503`, or a socket error code. */
  readonly status: string;
  readonly message: string;
  /** The delay asked for (Retry-After, RetryInfo); undefined when none. */
  readonly retryAfterMs?: number;
}

/** The classified result of one attempt. */
export type AttemptOutcome = AttemptAccepted | AttemptFailed;

/** A request made ready once (compressed, framed) and sent as often as needed. */
export interface PreparedRequest {
  /** One attempt within `timeoutMs`; aborting `signal` ends it as retryable. */
  attempt(timeoutMs: number, signal: AbortSignal): Promise<AttemptOutcome>;
}

/** One OTLP wire protocol towards one endpoint. */
export interface ExportTransport {
  /** The resolved target, for logs. */
  readonly target: string;
  prepare(request: Uint8Array): Promise<PreparedRequest>;
  /** Closes connections; attempts still running end as failures. */
  close(): void;
}
