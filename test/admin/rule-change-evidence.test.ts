/**
 * Rule-change evidence: every change made through the rules API reaches the
 * downstream sink as one signed `compliance.evidence` span (SOC 2 CC8.1) in
 * a trace of its own, and shows on the console; reads and no-op changes
 * emit nothing.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { buildRuleChangeEvidence } from '../../processor/admin/rule-change-evidence';
import { verifySpanSignature } from '../../processor/signing/signer';
import { keyRingFromEnv } from '../../processor/signing/local-key-ring';
import { receivedSpans, spansNamed } from '../helpers/otlp-build';
import { startAdminHarness } from './admin-harness';

import type { CompiledRule } from '../../dsl/rule';
import type { ReceivedSpan } from '../helpers/otlp-build';
import type { AdminHarness } from './admin-harness';

const RULES = `rules:
  - id: fraud-check
    severity: high
    condition: when { payment.process } always { payment.fraud_check }
`;
const SIGNING_KEY = 'a passphrase of more than thirty-two characters';

function evidenceOf(h: AdminHarness): ReceivedSpan[] {
  return spansNamed(h.sink!.requests, 'compliance.evidence');
}

function toSignable(s: ReceivedSpan) {
  return {
    traceId: s.span.traceId as string,
    spanId: s.span.spanId as string,
    name: s.span.name as string,
    startNs: BigInt(s.span.startTimeUnixNano as string),
    attributes: Object.entries(s.attributes).map(([k, v]) => [k, v] as [string, string | string[]]),
  };
}

describe('rule-change evidence through the exporter', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness({ rules: { 'a.yaml': RULES }, sink: true, env: { BETRACE_SIGNING_KEY: SIGNING_KEY } });
  });
  after(() => h.stop());

  it('emits one signed CC8.1 span per change, each in a trace of its own', async () => {
    const created = await h.request('POST', '/v1/rules', { id: 'phi-audit', condition: 'when { phi.read } always { audit.write }' });
    const updated = await h.request('PUT', '/v1/rules/phi-audit', { condition: 'when { phi.read } always { audit.write }', severity: 'high' });
    await h.request('POST', '/v1/rules/phi-audit/disable');
    await h.request('POST', '/v1/rules/phi-audit/enable');
    await h.request('POST', '/v1/rules/fraud-check/disable');
    await h.request('DELETE', '/v1/rules/phi-audit');
    await h.sink!.waitFor((requests) => spansNamed(requests, 'compliance.evidence').length >= 6, 5000);

    const spans = evidenceOf(h);
    assert.deepEqual(spans.map((s) => [s.attributes['compliance.outcome'], s.attributes['compliance.rule_id']]), [
      ['rule_created', 'phi-audit'],
      ['rule_updated', 'phi-audit'],
      ['rule_disabled', 'phi-audit'],
      ['rule_enabled', 'phi-audit'],
      ['rule_disabled', 'fraud-check'],
      ['rule_deleted', 'phi-audit'],
    ]);
    for (const s of spans) {
      assert.equal(s.attributes['compliance.framework'], 'soc2');
      assert.equal(s.attributes['compliance.control'], 'CC8.1');
      assert.equal(s.attributes['compliance.evidence_type'], 'rule_change');
      assert.equal(s.span.parentSpanId, '');
      assert.equal(s.scope?.name, 'betrace');
      assert.equal(s.resourceAttributes['service.name'], 'betrace');
      assert.equal(s.attributes['betrace.signature.algorithm'], 'HMAC-SHA256');
      assert.equal(verifySpanSignature(toSignable(s), keyRingFromEnv(SIGNING_KEY)), 'valid');
    }
    assert.equal(new Set(spans.map((s) => s.span.traceId)).size, spans.length);
    assert.equal(spans[0].attributes['betrace.rule_change.etag'], created.body.etag);
    assert.equal(spans[1].attributes['betrace.rule_change.previous_etag'], created.body.etag);
    assert.equal(spans[1].attributes['betrace.rule_change.etag'], updated.body.etag);
    assert.equal(spans[4].attributes['betrace.rule_change.source'], 'file');
    assert.equal(spans[4].attributes['betrace.rule_change.file'], `${h.dir}/rules/a.yaml`);
    assert.equal(spans[5].attributes['betrace.rule_change.etag'], undefined);
    assert.match(h.consoleText(), /EVIDENCE soc2 CC8\.1 outcome=rule_created rule=phi-audit/);
  });

  it('emits nothing for reads, failed changes and changes that change nothing', async () => {
    const count = receivedSpans(h.sink!.requests).length;
    await h.request('GET', '/v1/rules');
    await h.request('POST', '/v1/rules/fraud-check/disable');
    await h.request('POST', '/v1/rules', { id: 'bad', condition: 'when {' });
    await h.request('PUT', '/v1/rules/fraud-check', { condition: 'when { a } always { b }' });
    await h.request('POST', '/v1/rules/validate', { condition: 'when { a } always { b }' });
    const marker = await h.request('POST', '/v1/rules', { id: 'marker', condition: 'when { a } always { b }' });
    assert.equal(marker.status, 201);
    await h.sink!.waitFor((requests) => receivedSpans(requests).length > count, 5000);
    const added = receivedSpans(h.sink!.requests).slice(count);
    assert.deepEqual(added.map((s) => s.attributes['compliance.rule_id']), ['marker']);
  });
});

describe('buildRuleChangeEvidence', () => {
  it('never hands out an all-zero trace or span ID', () => {
    const ids = ['0'.repeat(32), '0'.repeat(16), 'ab'.repeat(16), '0'.repeat(16), 'cd'.repeat(8), 'ef'.repeat(16)];
    const span = buildRuleChangeEvidence(
      { action: 'rule_created', rule: { id: 'r' } as CompiledRule, source: 'api', file: '/x/api.yaml', etag: '"e"', previousEtag: null },
      { nowMs: () => 1_700_000_000_123, randomId: () => ids.shift()! },
    );
    assert.equal(span.span.traceId, 'ab'.repeat(16));
    assert.equal(span.span.spanId, 'cd'.repeat(8));
    assert.equal(span.span.startNs, 1_700_000_000_123_000_000n);
    assert.equal(span.span.endNs - span.span.startNs, 1_000_000n);
    assert.equal(span.kind, 'evidence');
  });
});
