/**
 * The root logger: pino, structured, fields first and a short lowercase
 * message. Components take a child logger with `{ component: '...' }`.
 */

import pino from 'pino';

import type { Logger } from 'pino';

export type { Logger } from 'pino';

/** Creates the root logger writing JSON lines to stderr. */
export function createLogger(level: string, destination: number = 2): Logger {
  return pino(
    { level, base: { service: 'betrace' } },
    pino.destination({ fd: destination, sync: false }),
  );
}

/** A logger that writes nothing, for tests and library use. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
