import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createWorkload } from '../../benchmarks/otlp-workload';
import { decodeTraceRequest } from '../../proto/decode-request';
import { decodeRequestFull } from '../helpers/otlp-decode';

import type { PlainMessage } from '../helpers/otlp-decode';

const NO_KEYS = { spanAttributes: new Set<string>(), resourceAttributes: new Set<string>(), spanNames: null };

describe('createWorkload', () => {
  it('gives the same bytes for the same seed and others for another', () => {
    const a = createWorkload({ seed: 3, requests: 2, spansPerRequest: 40, tracesPerRequest: 4 });
    const b = createWorkload({ seed: 3, requests: 2, spansPerRequest: 40, tracesPerRequest: 4 });
    const c = createWorkload({ seed: 4, requests: 2, spansPerRequest: 40, tracesPerRequest: 4 });
    assert.deepEqual(a.requests.map((r) => Buffer.from(r)), b.requests.map((r) => Buffer.from(r)));
    assert.notDeepEqual(a.requests.map((r) => Buffer.from(r)), c.requests.map((r) => Buffer.from(r)));
  });

  it('makes valid requests of the asked shape', () => {
    const options = { seed: 9, requests: 3, spansPerRequest: 60, tracesPerRequest: 7, attributesPerSpan: 14, resources: 3 };
    const workload = createWorkload({ ...options, spanNames: 5, eventEvery: 3 });
    assert.equal(workload.spans, 180);
    assert.equal(workload.traceIds.length, 21);
    assert.equal(new Set(workload.traceIds).size, 21);
    const names = new Set<string>();
    let events = 0;
    for (const bytes of workload.requests) {
      const batch = decodeTraceRequest(bytes, NO_KEYS);
      assert.equal(batch.total, 60);
      assert.equal(batch.rejected, 0);
      assert.equal(new Set(batch.traceIds).size, 7);
      assert.equal(batch.spans.filter((s) => s.isRoot).length, 7);
      const full = decodeRequestFull(bytes);
      assert.ok(full.resourceSpans.length <= 3);
      for (const rs of full.resourceSpans as PlainMessage[]) {
        for (const span of rs.scopeSpans[0].spans as PlainMessage[]) {
          assert.equal(span.attributes.length, 14);
          assert.equal(new Set(span.attributes.map((kv: PlainMessage) => kv.key)).size, 14);
          names.add(span.name);
          events += span.events.length;
        }
      }
    }
    assert.ok(names.size <= 5);
    assert.equal(events, 60);
  });
});
