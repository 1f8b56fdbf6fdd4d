/**
 * The error type every part of the processor throws or reports. It lives
 * apart from the code registry (processor/errors.ts), which imports every
 * area's codes, so that the areas can extend it without an import cycle.
 */

export interface BetraceErrorOptions {
  /** True when trying again later may succeed (maps to gRPC UNAVAILABLE). */
  readonly retryable?: boolean;
  readonly cause?: unknown;
}

/** An error with a registered code and a retry classification. */
export class BetraceError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: BetraceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BetraceError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}
