/**
 * How span projections are kept in a trace's Redis hash: one field per span
 * (its span ID) holding a short JSON array, and one field per distinct
 * resource (`r:<digest>`) that the spans name, so a resource's bytes are
 * stored once per trace rather than once per span.
 */

import { createHash } from 'node:crypto';

import type { ResourceRecord, SpanRecord } from '../../dsl/trace-model';

/** Hash fields of resources start with this; span IDs are hex and never do. */
export const RESOURCE_FIELD_PREFIX = 'r:';

const NO_RESOURCE: ResourceRecord = { attrs: null, raw: null };

/** A resource as stored: its hash field and its text. */
export interface ResourceEntry {
  readonly field: string;
  readonly text: string;
}

// The decoder hands out one ResourceRecord per distinct resource it has
// seen lately, so caching by object skips hashing the bytes again per request.
const resourceEntries = new WeakMap<ResourceRecord, ResourceEntry>();

/** The stored form of a resource, computed once per resource object. */
export function toResourceEntry(resource: ResourceRecord): ResourceEntry {
  let entry = resourceEntries.get(resource);
  if (entry === undefined) {
    const bytes = resource.raw;
    const raw = bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    const text = JSON.stringify([resource.attrs, raw]);
    const digest = createHash('sha1').update(text).digest('hex').slice(0, 16);
    entry = { field: RESOURCE_FIELD_PREFIX + digest, text };
    resourceEntries.set(resource, entry);
  }
  return entry;
}

/** The stored form of a span; the span ID is the hash field, not part of it. */
export function encodeSpanRecord(span: SpanRecord, resourceField: string): string {
  return JSON.stringify([
    span.name,
    span.isRoot ? 1 : 0,
    span.startNs,
    span.durationNs,
    span.status,
    span.kind,
    resourceField,
    span.attrs,
  ]);
}

/**
 * Reads a trace's hash as HGETALL returns it (`[field, value, ...]`) back
 * into span records, resources shared per trace. Spans come out by start
 * time, then span ID, so every instance sees a trace in the same order.
 */
export function decodeTraceHash(flat: readonly string[]): SpanRecord[] {
  const resources = new Map<string, ResourceRecord>();
  for (let i = 0; i < flat.length; i += 2) {
    if (!flat[i].startsWith(RESOURCE_FIELD_PREFIX)) continue;
    const [attrs, raw] = JSON.parse(flat[i + 1]) as [string[] | null, string | null];
    resources.set(flat[i], { attrs, raw: raw === null ? null : new Uint8Array(Buffer.from(raw, 'base64')) });
  }
  const spans: SpanRecord[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const field = flat[i];
    if (field.startsWith(RESOURCE_FIELD_PREFIX)) continue;
    const f = JSON.parse(flat[i + 1]) as [string, number, number, number, number, number, string, string[] | null];
    spans.push({
      spanId: field,
      name: f[0],
      isRoot: f[1] === 1,
      startNs: f[2],
      durationNs: f[3],
      status: f[4],
      kind: f[5],
      attrs: f[7],
      resource: resources.get(f[6]) ?? NO_RESOURCE,
    });
  }
  spans.sort(byStartThenId);
  return spans;
}

function byStartThenId(a: SpanRecord, b: SpanRecord): number {
  if (a.startNs !== b.startNs) return a.startNs - b.startNs;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}
