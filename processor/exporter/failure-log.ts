/**
 * Warn-level logging of export failures that cannot flood: the first failure
 * of a kind is logged at once, later ones within the interval are counted
 * and reported in one summary line when the interval ends.
 */

import type { Logger } from 'pino';

import type { RetryClock } from './retry';

/** Failures logged under separate limits. */
export type FailureKind = 'rejected' | 'retrying' | 'given_up' | 'partial_success';

/** Reports failures; `flush` writes pending summaries at once (shutdown). */
export interface FailureLog {
  report(kind: FailureKind, fields: Record<string, unknown>, message: string): void;
  flush(): void;
}

interface KindState {
  lastLoggedAt: number;
  suppressed: number;
  lastFields: Record<string, unknown>;
  lastMessage: string;
  timer: unknown;
}

/** OpenSSL's words when a TLS client meets a plaintext server. */
const PLAINTEXT_PEER = /wrong version number|packet length too long|unknown protocol|http request/i;

/** A hint for failures whose cause is usually a setting, not the downstream. */
export function hintFor(error: unknown): string | undefined {
  if (typeof error === 'string' && PLAINTEXT_PEER.test(error)) {
    return 'the downstream does not answer TLS: set exporters.otlp.tls.insecure: true, or give an http:// endpoint';
  }
  return undefined;
}

/** Creates a failure log: per kind, the first line, then one per interval. */
export function createFailureLog(
  logger: Logger,
  intervalMs: number,
  clock: RetryClock,
): FailureLog {
  const states = new Map<FailureKind, KindState>();

  const writeSummary = (kind: FailureKind, state: KindState): void => {
    state.timer = undefined;
    if (state.suppressed === 0) return;
    logger.warn(
      { ...state.lastFields, kind, suppressed: state.suppressed, intervalMs },
      `${state.lastMessage} (repeated)`,
    );
    state.suppressed = 0;
    state.lastLoggedAt = clock.now();
  };

  return {
    report(kind, fields, message) {
      const now = clock.now();
      const state = states.get(kind);
      if (!state || now - state.lastLoggedAt >= intervalMs) {
        if (state?.timer !== undefined) clock.clearTimeout(state.timer);
        if (state?.suppressed) writeSummary(kind, state);
        const hint = hintFor(fields.err);
        logger.warn(hint === undefined ? { ...fields, kind } : { ...fields, kind, hint }, message);
        states.set(kind, {
          lastLoggedAt: now,
          suppressed: 0,
          lastFields: fields,
          lastMessage: message,
          timer: undefined,
        });
        return;
      }

      state.suppressed++;
      state.lastFields = fields;
      state.lastMessage = message;
      if (state.timer === undefined) {
        const waitMs = Math.max(0, state.lastLoggedAt + intervalMs - now);
        state.timer = clock.setTimeout(() => writeSummary(kind, state), waitMs);
      }
    },
    flush() {
      for (const [kind, state] of states) {
        if (state.timer !== undefined) clock.clearTimeout(state.timer);
        writeSummary(kind, state);
      }
    },
  };
}
