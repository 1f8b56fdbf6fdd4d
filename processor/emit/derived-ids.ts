/**
 * IDs of the spans the processor writes, derived from (trace, rule, kind) so
 * that a repeated emission (a retry, a takeover in a fleet) is the same span
 * and a backend that merges spans by ID shows it once (PRODUCT.md 3).
 *
 * The digest is SHA-256 over: the 16 trace ID bytes, the rule ID in UTF-8, one
 * zero byte, then the kind (`violation` or `evidence`) in ASCII.
 */

import { createHash } from 'node:crypto';

export type EmittedKind = 'violation' | 'evidence';

export interface DerivedIds {
  /** First 8 digest bytes, 16 hex characters. */
  readonly spanId: string;
  /** First 16 digest bytes, 32 hex characters (`betrace.violation.id`). */
  readonly recordId: string;
}

const ZERO = Buffer.from([0]);

export function deriveIds(traceId: string, ruleId: string, kind: EmittedKind): DerivedIds {
  const digest = createHash('sha256')
    .update(Buffer.from(traceId, 'hex'))
    .update(ruleId, 'utf8')
    .update(ZERO)
    .update(kind, 'latin1')
    .digest();
  return {
    spanId: digest.toString('hex', 0, 8),
    recordId: digest.toString('hex', 0, 16),
  };
}
