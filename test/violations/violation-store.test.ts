/**
 * The violations store: records built from emitted violation spans, the
 * bound, replacement of a repeated violation, newest-first queries with
 * filters and cursors; and the resource reader behind `service_name`.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { otlpType } from '../helpers/otlp-decode';
import { decodeCursor, encodeCursor, ViolationStore } from '../../processor/violations/violation-store';
import { readServiceName } from '../../processor/violations/resource-service-name';
import { toViolationRecord } from '../../processor/violations/violation-record';

import type { CompiledRule } from '../../dsl/rule';
import type { EmittedSpan } from '../../processor/emit/emitted-spans';
import type { AttributeValue } from '../../proto/encode-spans';

const BASE_MS = 1_750_000_000_000;

function resourceBytes(attributes: Record<string, unknown>): Uint8Array {
  const type = otlpType('opentelemetry.proto.resource.v1.Resource');
  const kvs = Object.entries(attributes).map(([key, value]) => ({
    key,
    value: typeof value === 'string' ? { stringValue: value } : { intValue: String(value) },
  }));
  return type.encode(type.fromObject({ attributes: kvs })).finish();
}

interface Spec {
  readonly n: number;
  readonly rule?: string;
  readonly severity?: string;
  readonly atMs?: number;
  readonly kind?: 'violation' | 'evidence';
  readonly id?: string;
}

function emitted(spec: Spec): EmittedSpan {
  const rule = spec.rule ?? 'r1';
  const id = spec.id ?? spec.n.toString(16).padStart(32, '0');
  const traceId = `${spec.n.toString(16).padStart(31, '0')}a`;
  const startNs = BigInt(spec.atMs ?? BASE_MS + spec.n) * 1_000_000n;
  const attributes: Array<readonly [string, AttributeValue]> = [
    ['betrace.violation', true],
    ['betrace.violation.id', id],
    ['betrace.violation.rule_id', rule],
    ['betrace.violation.rule_name', `Rule ${rule}`],
    ['betrace.violation.severity', spec.severity ?? 'HIGH'],
    ['betrace.violation.message', `Rule ${rule}: required "b" not found`],
    ['betrace.violation.trace_id', traceId],
    ['betrace.violation.clause', 'always'],
    ['betrace.violation.trigger', 'idle'],
    ['betrace.violation.span_ids', ['00000000000000aa']],
  ];
  return {
    kind: spec.kind ?? 'violation',
    rule: { id: rule, name: `Rule ${rule}`, severity: spec.severity ?? 'HIGH' } as CompiledRule,
    trigger: 'idle',
    recordId: id,
    span: {
      traceId, spanId: id.slice(0, 16), parentSpanId: '00000000000000aa', name: 'betrace.violation', kind: 1,
      startNs, endNs: startNs + 1_000_000n, statusCode: 2, statusMessage: '', attributes, resource: null,
    },
  };
}

function storeWith(max: number, specs: Spec[]): ViolationStore {
  const store = new ViolationStore(max);
  store.add(specs.map(emitted));
  return store;
}

describe('toViolationRecord', () => {
  it('carries the span fields, compliance, signature and the resource service name', () => {
    const e = emitted({ n: 1 });
    const span = {
      ...e.span,
      resource: resourceBytes({ 'host.name': 'h1', 'service.name': 'payments' }),
      attributes: [
        ...e.span.attributes,
        ['compliance.framework', 'soc2'], ['compliance.control', 'CC6.1'],
        ['compliance.frameworks', ['soc2']], ['compliance.controls', ['CC6.1']],
        ['betrace.signature', 'c2ln'], ['betrace.signature.algorithm', 'HMAC-SHA256'], ['betrace.signature.key_id', 'k1'],
      ] as Array<readonly [string, AttributeValue]>,
    };
    const r = toViolationRecord({ ...e, span });
    assert.equal(r.id, e.recordId);
    assert.equal(r.trace_id, e.span.traceId);
    assert.equal(r.span_id, e.span.spanId);
    assert.equal(r.parent_span_id, '00000000000000aa');
    assert.equal(r.rule_id, 'r1');
    assert.equal(r.severity, 'HIGH');
    assert.equal(r.clause, 'always');
    assert.equal(r.trigger, 'idle');
    assert.deepEqual(r.span_ids, ['00000000000000aa']);
    assert.equal(r.detected_at, new Date(BASE_MS + 1).toISOString());
    assert.equal(r.detected_at_unix_nano, String(e.span.startNs));
    assert.equal(r.service_name, 'payments');
    assert.deepEqual(r.compliance, { framework: 'soc2', control: 'CC6.1', frameworks: ['soc2'], controls: ['CC6.1'] });
    assert.deepEqual(r.signature, { value: 'c2ln', algorithm: 'HMAC-SHA256', key_id: 'k1' });
  });

  it('leaves out what the span does not carry', () => {
    const r = toViolationRecord(emitted({ n: 1 }));
    assert.equal(r.service_name, undefined);
    assert.equal(r.compliance, undefined);
    assert.equal(r.signature, undefined);
  });
});

describe('readServiceName', () => {
  it('finds service.name among other attributes, and null when it is absent or not a string', () => {
    assert.equal(readServiceName(resourceBytes({ a: 'x', 'service.name': 'svc', z: 'y' })), 'svc');
    assert.equal(readServiceName(resourceBytes({ a: 'x' })), null);
    assert.equal(readServiceName(resourceBytes({ 'service.name': 7 })), null);
    assert.equal(readServiceName(null), null);
    assert.equal(readServiceName(Uint8Array.from([0x0a, 0x7f])), null);
  });

  it('reads any service name the way a full decoder does', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ maxLength: 10 }), (name, other) => {
      const bytes = resourceBytes({ [`x${other}`]: other, 'service.name': name });
      assert.equal(readServiceName(bytes), name);
    }), { numRuns: 200 });
  });
});

describe('ViolationStore', () => {
  it('keeps the newest max_records and drops the oldest', () => {
    const store = storeWith(3, [1, 2, 3, 4, 5].map((n) => ({ n })));
    assert.equal(store.size, 3);
    assert.deepEqual(store.query({ limit: 10 }).records.map((r) => r.trace_id.slice(-3, -1)), ['05', '04', '03']);
    assert.equal(store.get(emitted({ n: 1 }).recordId), undefined);
    assert.notEqual(store.get(emitted({ n: 5 }).recordId), undefined);
  });

  it('ignores evidence spans', () => {
    const store = storeWith(10, [{ n: 1, kind: 'evidence' }, { n: 2 }]);
    assert.equal(store.size, 1);
  });

  it('replaces the record of a violation emitted again, moving it to the front', () => {
    const store = storeWith(3, [{ n: 1, id: 'a'.repeat(32) }, { n: 2 }, { n: 3, id: 'a'.repeat(32) }]);
    assert.equal(store.size, 2);
    const ids = store.query({ limit: 10 }).records.map((r) => r.id);
    assert.deepEqual(ids, ['a'.repeat(32), emitted({ n: 2 }).recordId]);
    assert.equal(store.get('a'.repeat(32))?.trace_id, emitted({ n: 3 }).span.traceId);
  });

  it('stays bounded under a long stream of repeats', () => {
    const store = new ViolationStore(2);
    for (let i = 0; i < 5000; i++) store.add([emitted({ n: (i % 3) + 1 })]);
    assert.equal(store.size, 2);
    assert.equal(store.query({ limit: 10 }).records.length, 2);
  });

  it('filters by rule, severity, trace and time', () => {
    const store = storeWith(100, [
      { n: 1, rule: 'a', severity: 'LOW', atMs: BASE_MS },
      { n: 2, rule: 'b', severity: 'HIGH', atMs: BASE_MS + 10 },
      { n: 3, rule: 'a', severity: 'HIGH', atMs: BASE_MS + 20 },
    ]);
    const ns = (q: Parameters<ViolationStore['query']>[0]) => store.query(q).records.map((r) => r.trace_id.slice(-3, -1));
    assert.deepEqual(ns({ limit: 10, ruleId: 'a' }), ['03', '01']);
    assert.deepEqual(ns({ limit: 10, severities: new Set(['LOW']) }), ['01']);
    assert.deepEqual(ns({ limit: 10, traceId: emitted({ n: 2 }).span.traceId }), ['02']);
    assert.deepEqual(ns({ limit: 10, sinceMs: BASE_MS + 10 }), ['03', '02']);
    assert.deepEqual(ns({ limit: 10, untilMs: BASE_MS + 10 }), ['01']);
    assert.deepEqual(ns({ limit: 10, sinceMs: BASE_MS + 5, untilMs: BASE_MS + 15, ruleId: 'b' }), ['02']);
  });

  it('pages through any store and filter exactly once per record, newest first', () => {
    fc.assert(fc.property(
      fc.array(fc.constantFrom('a', 'b'), { maxLength: 40 }),
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 1, max: 7 }),
      fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
      (rules, max, limit, ruleId) => {
        const store = storeWith(max, rules.map((rule, i) => ({ n: i + 1, rule })));
        const expected = rules.map((rule, i) => ({ rule, n: i + 1 })).slice(-max).reverse()
          .filter((r) => ruleId === undefined || r.rule === ruleId)
          .map((r) => emitted({ n: r.n }).recordId);
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages <= expected.length + 1; pages++) {
          const page = store.query({ limit, ruleId, cursor });
          assert.ok(page.records.length <= limit);
          seen.push(...page.records.map((r) => r.id));
          if (page.nextCursor === null) break;
          assert.equal(page.records.length, limit);
          cursor = page.nextCursor;
        }
        assert.deepEqual(seen, expected);
      },
    ), { numRuns: 300 });
  });

  it('refuses a cursor it did not hand out', () => {
    const store = storeWith(10, [{ n: 1 }]);
    for (const cursor of ['', '!!', Buffer.from('-1').toString('base64url'), Buffer.from('01').toString('base64url'), `${encodeCursor(5)}=`]) {
      assert.throws(() => store.query({ limit: 1, cursor }), RangeError, cursor);
    }
    assert.equal(decodeCursor(encodeCursor(42)), 42);
  });

  it('refuses a bound that is not a positive integer', () => {
    assert.throws(() => new ViolationStore(0), RangeError);
  });
});
