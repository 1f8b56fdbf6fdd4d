/** Builders of span records for tests that do not go through a decoder. */

import type { ResourceRecord, SpanRecord } from '../../dsl/trace-model';

export const TEST_RESOURCE: ResourceRecord = { attrs: null, raw: null };

let nextId = 1;

/** A span record with defaults; `spanId` defaults to a fresh one. */
export function spanRecord(overrides: Partial<SpanRecord> = {}): SpanRecord {
  const id = (nextId++).toString(16).padStart(16, '0');
  return {
    spanId: id,
    name: 'op',
    isRoot: false,
    startNs: 1_700_000_000_000_000_000 + nextId,
    durationNs: 1_000_000,
    status: 0,
    kind: 1,
    attrs: null,
    resource: TEST_RESOURCE,
    ...overrides,
  };
}

/** A 32-hex trace ID from a small number. */
export function traceIdOf(n: number): string {
  return n.toString(16).padStart(32, '0');
}
