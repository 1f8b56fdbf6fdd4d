/**
 * IDs of the spans the processor writes, derived from (trace, rule, kind) so
 * that a repeated emission (a retry, a takeover in a fleet) is the same span
 * and a backend that merges spans by ID shows it once (PRODUCT.md 3).
 *
 * The digest is SHA-256 over: the 16 trace ID bytes, the rule ID in UTF-8, one
 * zero byte, then the kind (`violation` or `evidence`) in ASCII.
 */

import crypto from 'node:crypto';

export type EmittedKind = 'violation' | 'evidence';

export interface DerivedIds {
  /** First 8 digest bytes, 16 hex characters. */
  readonly spanId: string;
  /** First 16 digest bytes, 32 hex characters (`betrace.violation.id`). */
  readonly recordId: string;
}

// The one-shot digest (Node 20.12+) costs half of a createHash object.
const sha256: (data: Buffer) => Buffer = typeof crypto.hash === 'function'
  ? (data) => crypto.hash('sha256', data, 'buffer') as unknown as Buffer
  : (data) => crypto.createHash('sha256').update(data).digest();

export function deriveIds(traceId: string, ruleId: string, kind: EmittedKind): DerivedIds {
  const ruleBytes = Buffer.byteLength(ruleId, 'utf8');
  const input = Buffer.allocUnsafe(16 + ruleBytes + 1 + kind.length);
  input.write(traceId, 0, 16, 'hex');
  input.write(ruleId, 16, ruleBytes, 'utf8');
  input[16 + ruleBytes] = 0;
  input.write(kind, 17 + ruleBytes, kind.length, 'latin1');
  const digest = sha256(input);
  return {
    spanId: digest.toString('hex', 0, 8),
    recordId: digest.toString('hex', 0, 16),
  };
}
