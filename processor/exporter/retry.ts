/**
 * Retry with exponential backoff and jitter, for retryable failures only, as
 * the OTLP spec asks:
 * https://opentelemetry.io/docs/specs/otlp/#failures
 */

import type { RetryConfig } from '../../config/types';
import type { AttemptFailed, AttemptOutcome, PreparedRequest } from './transport';

/** Time sources, injectable so that tests can drive them. */
export interface RetryClock {
  now(): number;
  setTimeout(fn: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The clock of the running process. */
export const SYSTEM_CLOCK: RetryClock = {
  now: () => Date.now(),
  setTimeout: (fn, delayMs) => {
    const timer = setTimeout(fn, delayMs);
    // A pending backoff must not keep the process alive on its own.
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Why the loop stopped without the downstream accepting. */
export type RetryStop = 'permanent' | 'elapsed' | 'deadline' | 'aborted';

/** The last outcome, how many attempts it took, and why the loop stopped. */
export interface RetryResult {
  readonly outcome: AttemptOutcome;
  readonly attempts: number;
  /** null when the last outcome is a success. */
  readonly stop: RetryStop | null;
}

export interface RetryOptions {
  readonly policy: RetryConfig;
  /** Per-attempt timeout (exporters.otlp.timeout). */
  readonly timeoutMs: number;
  /** Epoch ms after which no attempt starts; Infinity for none. */
  readonly deadlineAt: number;
  readonly clock: RetryClock;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  /** Aborting ends the loop at once (shutdown deadline). */
  readonly signal: AbortSignal;
  readonly onAttempt?: (outcome: AttemptOutcome, durationMs: number) => void;
  readonly onRetry?: (failure: AttemptFailed, delayMs: number) => void;
}

/**
 * The wait before retry number `retryIndex` (0 for the first retry): the
 * interval doubles from initialIntervalMs up to maxIntervalMs, and equal
 * jitter picks a point in its upper half. Equal rather than full jitter so a
 * retry never fires almost at once against a downstream that just failed.
 */
export function computeBackoffMs(
  retryIndex: number,
  policy: RetryConfig,
  random: () => number,
): number {
  const ceilingMs = Math.max(policy.initialIntervalMs, policy.maxIntervalMs);
  // Capping the exponent keeps 2 ** n finite however long an outage lasts.
  const growth = 2 ** Math.min(retryIndex, 52);
  const intervalMs = Math.min(ceilingMs, policy.initialIntervalMs * growth);
  return intervalMs / 2 + (random() * intervalMs) / 2;
}

/**
 * Attempts `prepared` until the downstream accepts it, a failure is
 * permanent, the retry budget (retry.max_elapsed_time; 0 would mean
 * unbounded, which the config does not allow) or the deadline runs out, or
 * `signal` aborts. Never rejects.
 */
export async function sendWithRetry(
  prepared: PreparedRequest,
  options: RetryOptions,
): Promise<RetryResult> {
  const { clock, policy, signal } = options;
  const startedAt = clock.now();
  const budgetEnd =
    policy.maxElapsedTimeMs > 0 ? startedAt + policy.maxElapsedTimeMs : Infinity;
  const giveUpAt = Math.min(budgetEnd, options.deadlineAt);
  const expired: RetryStop =
    options.deadlineAt <= budgetEnd ? 'deadline' : 'elapsed';
  let attempts = 0;
  let last: AttemptOutcome = ABORTED;

  for (let retryIndex = 0; ; retryIndex++) {
    if (signal.aborted) return { outcome: last, attempts, stop: 'aborted' };
    const beforeMs = clock.now();
    if (beforeMs >= giveUpAt) {
      const outcome = last === ABORTED ? EXPIRED : last;
      return { outcome, attempts, stop: expired };
    }

    // An attempt may not run past the caller's deadline. The retry budget
    // only decides whether to try again, as in the collector.
    const leftMs = options.deadlineAt - beforeMs;
    const attemptTimeoutMs = Math.max(1, Math.min(options.timeoutMs, leftMs));
    last = await prepared.attempt(attemptTimeoutMs, signal);
    attempts++;
    options.onAttempt?.(last, clock.now() - beforeMs);
    if (last.ok) return { outcome: last, attempts, stop: null };
    if (!last.retryable) return { outcome: last, attempts, stop: 'permanent' };
    if (signal.aborted) return { outcome: last, attempts, stop: 'aborted' };

    const backoffMs = computeBackoffMs(retryIndex, policy, options.random);
    const delayMs = Math.max(backoffMs, last.retryAfterMs ?? 0);
    if (clock.now() + delayMs >= giveUpAt) {
      return { outcome: last, attempts, stop: expired };
    }
    options.onRetry?.(last, delayMs);
    await sleep(delayMs, clock, signal);
  }
}

const ABORTED: AttemptFailed = {
  ok: false,
  retryable: true,
  timedOut: false,
  status: 'ABORTED_BY_SHUTDOWN',
  message: 'the exporter stopped before the request was sent',
};

const EXPIRED: AttemptFailed = {
  ok: false,
  retryable: true,
  timedOut: true,
  status: 'DEADLINE',
  message: 'the deadline passed before the request was sent',
};

function sleep(delayMs: number, clock: RetryClock, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      done();
    };
    const handle = clock.setTimeout(done, delayMs);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
