/**
 * Tells the operator, without flooding the log, that the buffer is evicting
 * traces: evicted traces are judged on what had arrived (or not at all under
 * `on_evict: drop`), so `always` rules may fire on partial traces. One warning
 * when eviction starts, then at most one summary per interval while it goes on.
 */

import type { Logger } from '../log';

/** Between two summary lines while eviction goes on. */
export const PRESSURE_LOG_INTERVAL_MS = 60_000;

export interface PressureLog {
  /** Counts one evicted trace. */
  evicted(action: 'evaluate' | 'drop'): void;
}

export interface PressureLimits {
  readonly maxTraces: number;
  readonly maxBytes: number;
}

export function createPressureLog(
  logger: Logger,
  limits: PressureLimits,
  now: () => number = Date.now,
  intervalMs: number = PRESSURE_LOG_INTERVAL_MS,
): PressureLog {
  let lastLogMs = -Infinity;
  let evaluated = 0;
  let dropped = 0;
  return {
    evicted(action) {
      if (action === 'evaluate') evaluated++;
      else dropped++;
      const at = now();
      if (at - lastLogMs < intervalMs) return;
      const first = lastLogMs === -Infinity;
      lastLogMs = at;
      logger.warn(
        { evaluated, dropped, maxTraces: limits.maxTraces, maxBytes: limits.maxBytes },
        first
          ? 'buffer full: evicting the least recently active traces (raise buffer.max_traces or buffer.max_bytes_mib)'
          : 'buffer still evicting traces',
      );
      evaluated = 0;
      dropped = 0;
    },
  };
}
