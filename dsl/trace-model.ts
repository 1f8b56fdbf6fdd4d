/**
 * The data model that rules see: the compact projection of each span that the
 * receivers keep, and a per-trace view that evaluation reads.
 *
 * Records hold only what loaded rules reference (DSL.md 2.1 and 13): the span
 * name, a few intrinsic fields, and the attributes named by some rule, already
 * turned into their text forms. Whole decoded spans are never kept.
 */

/** OTLP span status codes (`Status.code`). */
export const STATUS_UNSET = 0;
export const STATUS_OK = 1;
export const STATUS_ERROR = 2;

/** Marks a duration that is MISSING: end before start, or a zero time. */
export const DURATION_MISSING = -1;

/** The resource block a span came in, shared by all spans of that block. */
export interface ResourceRecord {
  /**
   * Referenced resource attributes as `[key, text, key, text, ...]`, or null
   * when none is present. Keys are the projection's own string objects.
   */
  readonly attrs: readonly string[] | null;
  /**
   * The `Resource` message as it arrived (protobuf bytes, copied out of the
   * request), so that violation spans can carry the same resource; null when
   * the span had no resource.
   */
  readonly raw: Uint8Array | null;
}

/** What evaluation may read of one span. */
export interface SpanRecord {
  /** 16 lower-case hex characters. */
  readonly spanId: string;
  /** The OTLP span name, exactly. */
  readonly name: string;
  /** True when the span has no parent span ID (empty or all zero). */
  readonly isRoot: boolean;
  /** Start time in ns since the epoch as a double; good for ordering only. */
  readonly startNs: number;
  /** End minus start in ns (exact below 2^53), or DURATION_MISSING. */
  readonly durationNs: number;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly status: number;
  /** OTLP span kind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  /**
   * Referenced span attributes as `[key, text, key, text, ...]` in their text
   * forms (DSL.md 2.2 and 13), or null when none is present.
   */
  readonly attrs: readonly string[] | null;
  readonly resource: ResourceRecord;
}

/**
 * What the loaded rules reference, so that decoders keep nothing else. Keys
 * are matched exactly; the sets' own strings are stored in the records.
 */
export interface Projection {
  readonly spanAttributes: ReadonlySet<string>;
  readonly resourceAttributes: ReadonlySet<string>;
  /**
   * Span names the rules look at; null when some rule looks at every span
   * (`*`). Spans of other names matter only as the trace's root or earliest
   * span (a violation's fallback parent), so their attributes need not be
   * decoded nor their records kept.
   */
  readonly spanNames: ReadonlySet<string> | null;
}

export const EMPTY_PROJECTION: Projection = {
  spanAttributes: new Set(),
  resourceAttributes: new Set(),
  spanNames: new Set(),
};

/** Joins projections, for decoding while several rule sets are in use. */
export function mergeProjections(projections: readonly Projection[]): Projection {
  const spanAttributes = new Set<string>();
  const resourceAttributes = new Set<string>();
  let spanNames: Set<string> | null = new Set<string>();
  for (const p of projections) {
    for (const k of p.spanAttributes) spanAttributes.add(k);
    for (const k of p.resourceAttributes) resourceAttributes.add(k);
    if (p.spanNames === null) spanNames = null;
    else if (spanNames !== null) for (const n of p.spanNames) spanNames.add(n);
  }
  return { spanAttributes, resourceAttributes, spanNames };
}

/** True when rules under `projection` may read this span beyond its root or start. */
export function isSpanLookedAt(projection: Projection, name: string): boolean {
  return projection.spanNames === null || projection.spanNames.has(name);
}

/** Looks up a key in a flat `[key, text, ...]` list; undefined when absent. */
export function lookupAttr(
  attrs: readonly string[] | null,
  key: string,
): string | undefined {
  if (attrs === null) return undefined;
  for (let i = 0, n = attrs.length; i < n; i += 2) {
    if (attrs[i] === key) return attrs[i + 1];
  }
  return undefined;
}

/** One trace as evaluation sees it: its distinct spans, indexed by name. */
export interface TraceView {
  /** 32 lower-case hex characters. */
  readonly traceId: string;
  /** Distinct spans (the first of several with one span ID wins). */
  readonly spans: readonly SpanRecord[];
  /** Span names present, each with its spans in arrival order. */
  readonly byName: ReadonlyMap<string, readonly SpanRecord[]>;
}

const NO_SPANS: readonly SpanRecord[] = [];

/** Spans of the view with this exact name (empty when none). */
export function spansNamed(view: TraceView, name: string): readonly SpanRecord[] {
  return view.byName.get(name) ?? NO_SPANS;
}

/**
 * Builds the view in one pass over the spans: drops repeated span IDs and
 * groups by name.
 */
export function createTraceView(
  traceId: string,
  spans: readonly SpanRecord[],
): TraceView {
  const byName = new Map<string, SpanRecord[]>();
  const seen = new Set<string>();
  const distinct: SpanRecord[] = [];
  for (let i = 0, n = spans.length; i < n; i++) {
    const span = spans[i];
    if (seen.has(span.spanId)) continue;
    seen.add(span.spanId);
    distinct.push(span);
    const group = byName.get(span.name);
    if (group === undefined) byName.set(span.name, [span]);
    else group.push(span);
  }
  return { traceId, spans: distinct, byName };
}
