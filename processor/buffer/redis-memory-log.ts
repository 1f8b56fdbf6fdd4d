/**
 * Logs Redis filling up and taking writes again without flooding the log:
 * at its maxmemory a Redis can refuse and take writes many times a second.
 * The first change in an interval is logged at once; if the state then
 * changes again, the state at the interval's end is logged once, with how
 * many changes went unlogged.
 */

import type { Logger } from '../log';

/** Shortest time between two lines about the memory state. */
export const MEMORY_LOG_INTERVAL_MS = 10_000;

type MemoryState = 'full' | 'writable';

export class RedisMemoryLog {
  private readonly logger: Logger;
  private readonly location: string;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private current: MemoryState = 'writable';
  private logged: MemoryState = 'writable';
  private lastLogMs = -Infinity;
  private unlogged = 0;
  private fullSinceMs = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(logger: Logger, location: string, intervalMs = MEMORY_LOG_INTERVAL_MS, now: () => number = Date.now) {
    this.logger = logger;
    this.location = location;
    this.intervalMs = intervalMs;
    this.now = now;
  }

  /** A store was refused for lack of memory. */
  full(): void {
    // Time full is told from the first refusal after redis was last logged writable.
    if (this.current !== 'full' && this.logged !== 'full') this.fullSinceMs = this.now();
    this.change('full');
  }

  /** A probe found that Redis takes writes again. */
  writable(): void {
    this.change('writable');
  }

  private change(state: MemoryState): void {
    if (state === this.current) return;
    this.current = state;
    if (this.now() - this.lastLogMs >= this.intervalMs) {
      this.write();
      return;
    }
    this.unlogged++;
    this.timer ??= setTimeout(() => {
      this.timer = null;
      if (this.current !== this.logged) this.write();
      else this.unlogged = 0;
    }, this.lastLogMs + this.intervalMs - this.now());
    this.timer.unref();
  }

  private write(): void {
    const fields = { redis: this.location, unloggedChanges: this.unlogged };
    if (this.current === 'full') {
      this.logger.warn(fields, 'redis out of memory; refusing spans while evaluated traces free memory');
    } else {
      this.logger.info({ ...fields, fullMs: this.now() - this.fullSinceMs }, 'redis takes writes again');
    }
    this.logged = this.current;
    this.lastLogMs = this.now();
    this.unlogged = 0;
  }
}
