/**
 * Logging for failures that can repeat on every request: each kind is logged
 * the first time only, so a flood of identical failures costs one line.
 */

import type { Logger } from 'pino';

// Bounds the memory of kinds already seen; past it, one line says so and
// new kinds go unlogged (they are still counted in metrics).
const DEFAULT_MAX_KINDS = 64;

/** Logs an error at error level once per kind; returns whether it logged. */
export type LogErrorOnce = (
  kind: string,
  err: unknown,
  fields?: Record<string, unknown>,
) => boolean;

/** Creates a once-per-kind error logger writing to `logger`. */
export function createLogErrorOnce(
  logger: Logger,
  maxKinds: number = DEFAULT_MAX_KINDS,
): LogErrorOnce {
  const seen = new Set<string>();
  let saturated = false;
  return (kind, err, fields = {}) => {
    if (seen.has(kind) || saturated) return false;
    if (seen.size >= maxKinds) {
      saturated = true;
      logger.warn({ kinds: seen.size }, 'too many kinds of unexpected errors; logging no new ones');
      return false;
    }
    seen.add(kind);
    logger.error(
      { ...fields, err, kind },
      'unexpected error; further ones of this kind are not logged',
    );
    return true;
  };
}

/** The kind of an error for once-per-kind logging: its class name and code. */
export function toErrorKind(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' || typeof code === 'number' ? `${err.name}:${code}` : err.name;
  }
  return typeof err;
}
