/**
 * The violations API over real HTTP, fed by real traces through the
 * receiver, the buffer and the evaluator: record contents, filters, paging
 * with the cursor, the bound of the store and the error answers.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { hexId } from '../helpers/otlp-build';
import { startAdminHarness, waitUntil } from './admin-harness';

import type { AdminHarness } from './admin-harness';

const RULES = `rules:
  - id: fraud-check
    name: High-value payments need a fraud check
    severity: high
    compliance: [{ framework: PCI-DSS, control: "10.2" }]
    condition: when { payment.process.where(payment.amount > 1000) } always { payment.fraud_check }
  - id: no-debug
    severity: low
    condition: when { checkout.order } never { debug.dump }
`;
// Roots complete quickly; nothing else here waits on time.
const BUFFER = `
  idle_timeout: 60s
  root_grace: 5ms
  max_trace_age: 60s`;

interface Sent {
  readonly traceId: string;
  readonly rootSpanId: string;
  readonly ruleId: string;
}

/** Sends one trace that breaks `ruleId` and waits until its violation is stored. */
async function sendViolation(h: AdminHarness, ruleId: 'fraud-check' | 'no-debug'): Promise<Sent> {
  const traceId = hexId(16);
  const rootSpanId = hexId(8);
  const spans = ruleId === 'fraud-check'
    ? [{ traceId, spanId: rootSpanId, name: 'payment.process', attributes: { 'payment.amount': 5000 } }]
    : [
      { traceId, spanId: rootSpanId, name: 'checkout.order' },
      { traceId, spanId: hexId(8), parentSpanId: rootSpanId, name: 'debug.dump' },
    ];
  await h.sendSpans([{ resource: { 'service.name': 'payments' }, spans }]);
  await waitUntil(() => h.service.violations.get(violationId(traceId, ruleId)) !== undefined, `the violation of ${ruleId}`);
  return { traceId, rootSpanId, ruleId };
}

function violationId(traceId: string, ruleId: string): string {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(traceId, 'hex'), Buffer.from(ruleId), Buffer.from([0]), Buffer.from('violation')]))
    .digest('hex')
    .slice(0, 32);
}

describe('violations API', () => {
  let h: AdminHarness;
  const sent: Sent[] = [];
  before(async () => {
    h = await startAdminHarness({ rules: { 'a.yaml': RULES }, buffer: BUFFER });
    for (const rule of ['fraud-check', 'no-debug', 'fraud-check', 'fraud-check', 'no-debug'] as const) {
      sent.push(await sendViolation(h, rule));
    }
  });
  after(() => h.stop());

  it('lists every violation newest first, each with what its span carries', async () => {
    const res = await h.request('GET', '/v1/violations');
    assert.equal(res.status, 200);
    assert.equal(res.body.next_cursor, null);
    assert.deepEqual(res.body.violations.map((v: { trace_id: string }) => v.trace_id), sent.map((s) => s.traceId).reverse());
    const first = res.body.violations.find((v: { trace_id: string }) => v.trace_id === sent[0].traceId);
    assert.equal(first.id, violationId(sent[0].traceId, 'fraud-check'));
    assert.equal(first.rule_id, 'fraud-check');
    assert.equal(first.rule_name, 'High-value payments need a fraud check');
    assert.equal(first.severity, 'HIGH');
    assert.equal(first.clause, 'always');
    assert.equal(first.trigger, 'root');
    assert.match(first.message, /^High-value payments need a fraud check: .*payment\.fraud_check/);
    assert.deepEqual(first.span_ids, [sent[0].rootSpanId]);
    assert.equal(first.parent_span_id, sent[0].rootSpanId);
    assert.equal(first.span_id, first.id.slice(0, 16));
    assert.equal(first.service_name, 'payments');
    assert.deepEqual(first.compliance, { framework: 'pci-dss', control: '10.2', frameworks: ['pci-dss'], controls: ['10.2'] });
    assert.match(first.detected_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(BigInt(first.detected_at_unix_nano) / 1_000_000n, BigInt(Date.parse(first.detected_at)));
    const debug = res.body.violations.find((v: { rule_id: string }) => v.rule_id === 'no-debug');
    assert.equal(debug.clause, 'never');
    assert.equal(debug.compliance, undefined);
  });

  it('gets one violation by id, and 404 for an unknown one', async () => {
    const id = violationId(sent[1].traceId, 'no-debug');
    const res = await h.request('GET', `/v1/violations/${id}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.trace_id, sent[1].traceId);
    const unknown = await h.request('GET', `/v1/violations/${'0'.repeat(32)}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'ERR_ADMIN_VIOLATION_NOT_FOUND');
  });

  it('filters by rule_id, severity and trace_id', async () => {
    const traces = async (query: string): Promise<string[]> =>
      (await h.request('GET', `/v1/violations?${query}`)).body.violations.map((v: { trace_id: string }) => v.trace_id);
    const ofRule = (rule: string) => sent.filter((s) => s.ruleId === rule).map((s) => s.traceId).reverse();
    assert.deepEqual(await traces('rule_id=no-debug'), ofRule('no-debug'));
    assert.deepEqual(await traces('severity=high'), ofRule('fraud-check'));
    assert.deepEqual(await traces('severity=LOW,critical'), ofRule('no-debug'));
    assert.deepEqual(await traces(`trace_id=${sent[2].traceId.toUpperCase()}`), [sent[2].traceId]);
    assert.deepEqual(await traces('rule_id=nope'), []);
  });

  it('filters by since and until, as RFC 3339 or epoch milliseconds', async () => {
    const all = (await h.request('GET', '/v1/violations')).body.violations as Array<{ trace_id: string; detected_at: string }>;
    const pivot = Date.parse(all[2].detected_at);
    const expectSince = all.filter((v) => Date.parse(v.detected_at) >= pivot).map((v) => v.trace_id);
    const expectUntil = all.filter((v) => Date.parse(v.detected_at) < pivot).map((v) => v.trace_id);
    const since = await h.request('GET', `/v1/violations?since=${encodeURIComponent(new Date(pivot).toISOString())}`);
    assert.deepEqual(since.body.violations.map((v: { trace_id: string }) => v.trace_id), expectSince);
    const until = await h.request('GET', `/v1/violations?until=${pivot}`);
    assert.deepEqual(until.body.violations.map((v: { trace_id: string }) => v.trace_id), expectUntil);
    const offset = await h.request('GET', `/v1/violations?since=${encodeURIComponent(new Date(pivot).toISOString().replace('Z', '+00:00'))}`);
    assert.deepEqual(offset.body.violations.map((v: { trace_id: string }) => v.trace_id), expectSince);
  });

  it('pages with limit and an opaque cursor until next_cursor is null', async () => {
    const all = (await h.request('GET', '/v1/violations')).body.violations.map((v: { id: string }) => v.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? 'limit=2' : `limit=2&cursor=${cursor}`;
      const res = await h.request('GET', `/v1/violations?${query}`);
      assert.equal(res.status, 200);
      assert.ok(res.body.violations.length <= 2);
      seen.push(...res.body.violations.map((v: { id: string }) => v.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    assert.deepEqual(seen, all);
    assert.equal(pages, 3);
    const filtered = await h.request('GET', '/v1/violations?rule_id=fraud-check&limit=2');
    const rest = await h.request('GET', `/v1/violations?rule_id=fraud-check&limit=2&cursor=${filtered.body.next_cursor}`);
    assert.equal(rest.body.violations.length, 1);
    assert.equal(rest.body.next_cursor, null);
  });

  it('answers 400 for bad parameters and cursors', async () => {
    for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'since=yesterday', 'until=2026-13-01T00:00:00Z', 'trace_id=abc', 'severity=urgent', 'rule=x']) {
      const res = await h.request('GET', `/v1/violations?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.code, 'ERR_ADMIN_BAD_QUERY', query);
    }
    for (const cursor of ['not-a-cursor', Buffer.from('0').toString('base64url'), Buffer.from('12x').toString('base64url')]) {
      const res = await h.request('GET', `/v1/violations?cursor=${cursor}`);
      assert.equal(res.status, 400, cursor);
      assert.equal(res.body.code, 'ERR_ADMIN_BAD_CURSOR');
    }
    assert.equal((await h.request('GET', '/v1/violations?limit=1000')).status, 200);
  });
});

describe('violations API with a small store', () => {
  it('keeps the newest violations.max_records and drops the oldest', async () => {
    const h = await startAdminHarness({ rules: { 'a.yaml': RULES }, buffer: BUFFER, maxViolations: 2 });
    try {
      const sent: Sent[] = [];
      for (let i = 0; i < 4; i++) sent.push(await sendViolation(h, 'fraud-check'));
      const res = await h.request('GET', '/v1/violations');
      assert.deepEqual(res.body.violations.map((v: { trace_id: string }) => v.trace_id), [sent[3].traceId, sent[2].traceId]);
      assert.equal((await h.request('GET', `/v1/violations/${violationId(sent[0].traceId, 'fraud-check')}`)).status, 404);
    } finally {
      await h.stop();
    }
  });
});
