/**
 * A pino logger that keeps every line it writes, parsed, so that tests can
 * look at what a component logged.
 */

import pino from 'pino';

import type { Logger } from '../../processor/log';

/** One logged line. */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A logger and the lines it wrote. */
export interface CapturedLog {
  readonly logger: Logger;
  readonly lines: LogLine[];
  /** The messages in order. */
  messages(): string[];
}

/** pino's number for warn. */
export const WARN = 40;

/** Creates a logger at `info` that keeps its lines. */
export function captureLog(): CapturedLog {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, {
    write(line: string) {
      lines.push(JSON.parse(line) as LogLine);
    },
  });
  return { logger, lines, messages: () => lines.map((l) => l.msg) };
}
