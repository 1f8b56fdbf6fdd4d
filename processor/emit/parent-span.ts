/** Which existing span a violation or evidence span hangs under (PRODUCT.md 3). */

import type { SpanRecord, TraceView } from '../../dsl/trace-model';
import type { Verdict } from '../../dsl/rule';

function earliest(spans: readonly SpanRecord[], accept: (s: SpanRecord) => boolean): SpanRecord | undefined {
  let best: SpanRecord | undefined;
  for (let i = 0, n = spans.length; i < n; i++) {
    const span = spans[i];
    if (!accept(span)) continue;
    if (best === undefined || span.startNs < best.startNs) best = span;
  }
  return best;
}

const ANY = (): boolean => true;
const IS_ROOT = (s: SpanRecord): boolean => s.isRoot;

/**
 * The earliest-starting span that made `when` hold; when `when` held without
 * naming a present span, the root span; without a root, the earliest span.
 * Undefined only for an empty trace.
 */
export function chooseParentSpan(verdict: Verdict, view: TraceView): SpanRecord | undefined {
  return earliest(verdict.whenSpans, ANY) ?? earliest(view.spans, IS_ROOT) ?? earliest(view.spans, ANY);
}
