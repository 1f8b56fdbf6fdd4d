/** The error the config loader throws, carrying every diagnostic found. */

import { BetraceError } from '../processor/betrace-error';
import { formatConfigDiagnostic } from './errors';

import type { ConfigDiagnostic } from './errors';

/**
 * Thrown when a configuration cannot be used. `diagnostics` holds every
 * problem found: those of single keys in file order, then those across keys
 * (no receiver, no exporter, a loop) in file order. `code` is the code of
 * the first one and `message` lists them all, one per line.
 */
export class ConfigError extends BetraceError {
  readonly diagnostics: ConfigDiagnostic[];

  constructor(diagnostics: ConfigDiagnostic[]) {
    const first = diagnostics[0];
    if (first === undefined) {
      throw new TypeError('a ConfigError needs at least one diagnostic');
    }
    super(first.code, diagnostics.map(formatConfigDiagnostic).join('\n'));
    this.name = 'ConfigError';
    this.diagnostics = diagnostics;
  }
}
