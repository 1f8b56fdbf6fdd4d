/**
 * The rules API over real HTTP on loopback, against a running processor:
 * every endpoint's success and error answers, file-owned rules, ETags and
 * If-Match, persistence across a restart, and concurrent writers.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { parseRuleFile } from '../../dsl/rule-file';
import { startAdminHarness } from './admin-harness';

import type { AdminHarness } from './admin-harness';

const FILE_RULES = `rules:
  - id: fraud-check
    name: High-value payments need a fraud check
    severity: high
    tags: [payments, pci]
    condition: |
      when { payment.process.where(payment.amount > 1000) }
      always { payment.fraud_check }
  - id: quiet-rule
    severity: low
    enabled: false
    tags: [payments]
    condition: when { checkout.order } never { debug.dump }
`;

const NEW_RULE = {
  id: 'phi-audit',
  name: 'PHI access is audited',
  severity: 'critical',
  tags: ['hipaa'],
  compliance: [{ framework: 'HIPAA', control: '164.312(b)' }],
  condition: 'when { phi.read } always { audit.write }',
};

describe('rules API: reading', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness({ rules: { 'payments.yaml': FILE_RULES } });
  });
  after(() => h.stop());

  it('lists every rule with its source, file, position and ETag', async () => {
    const res = await h.request('GET', '/v1/rules');
    assert.equal(res.status, 200);
    const ids = res.body.rules.map((r: { id: string }) => r.id);
    assert.deepEqual(ids, ['fraud-check', 'quiet-rule']);
    const fraud = res.body.rules[0];
    assert.equal(fraud.source, 'file');
    assert.equal(fraud.file, `${h.dir}/rules/payments.yaml`);
    assert.equal(fraud.line, 2);
    assert.equal(fraud.severity, 'HIGH');
    assert.match(fraud.etag, /^"[A-Za-z0-9_-]{24}"$/);
  });

  it('filters by enabled, severity (any case, comma list) and tag', async () => {
    const ids = async (query: string): Promise<string[]> =>
      (await h.request('GET', `/v1/rules?${query}`)).body.rules.map((r: { id: string }) => r.id);
    assert.deepEqual(await ids('enabled=false'), ['quiet-rule']);
    assert.deepEqual(await ids('enabled=true'), ['fraud-check']);
    assert.deepEqual(await ids('severity=low'), ['quiet-rule']);
    assert.deepEqual(await ids('severity=HIGH,low'), ['fraud-check', 'quiet-rule']);
    assert.deepEqual(await ids('tag=pci'), ['fraud-check']);
    assert.deepEqual(await ids('tag=payments&tag=pci'), ['fraud-check']);
    assert.deepEqual(await ids('tag=none'), []);
    assert.deepEqual(await ids('source=api'), []);
  });

  it('answers 400 for an unknown parameter or a bad filter value', async () => {
    for (const query of ['rule=x', 'enabled=yes', 'severity=urgent', 'enabled=true&enabled=false']) {
      const res = await h.request('GET', `/v1/rules?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.code, 'ERR_ADMIN_BAD_QUERY');
    }
  });

  it('gets one rule with its ETag header, and 304 for a matching If-None-Match', async () => {
    const res = await h.request('GET', '/v1/rules/fraud-check');
    assert.equal(res.status, 200);
    assert.equal(res.body.id, 'fraud-check');
    assert.equal(res.headers.get('etag'), res.body.etag);
    const again = await h.request('GET', '/v1/rules/fraud-check', undefined, { 'if-none-match': res.body.etag });
    assert.equal(again.status, 304);
  });

  it('answers 404 with a JSON error for an unknown rule and an unknown path', async () => {
    const res = await h.request('GET', '/v1/rules/nope');
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'ERR_ADMIN_RULE_NOT_FOUND');
    assert.match(res.body.message, /"nope"/);
    const path = await h.request('GET', '/v1/nothing');
    assert.equal(path.status, 404);
    assert.equal(path.body.code, 'ERR_ADMIN_NOT_FOUND');
  });

  it('answers 405 with Allow for a method that the path does not take', async () => {
    const res = await h.request('PATCH', '/v1/rules/fraud-check');
    assert.equal(res.status, 405);
    assert.equal(res.body.code, 'ERR_ADMIN_METHOD_NOT_ALLOWED');
    assert.equal(res.headers.get('allow'), 'GET, HEAD, PUT, DELETE');
    const enable = await h.request('GET', '/v1/rules/fraud-check/enable');
    assert.equal(enable.status, 405);
    assert.equal(enable.headers.get('allow'), 'POST');
  });
});

describe('rules API: changes', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness({ rules: { 'payments.yaml': FILE_RULES } });
  });
  after(() => h.stop());

  it('creates a rule: 201 with Location and ETag, active in the rule set, saved to the api file', async () => {
    const res = await h.request('POST', '/v1/rules', NEW_RULE);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), '/v1/rules/phi-audit');
    assert.equal(res.headers.get('etag'), res.body.etag);
    assert.equal(res.body.source, 'api');
    assert.equal(res.body.severity, 'CRITICAL');
    assert.equal(h.service.pipeline.ruleSet.byId.get('phi-audit')?.enabled, true);
    assert.match(await (await fetch(`${h.baseUrl}/metrics`)).text(), /^betrace_rules_loaded 3$/m);
    const saved = parseRuleFile(fs.readFileSync(h.apiFile, 'utf8'), h.apiFile);
    assert.deepEqual(saved.diagnostics, []);
    assert.deepEqual(saved.rules.map((r) => r.id), ['phi-audit']);
    assert.deepEqual(saved.rules[0].compliance, NEW_RULE.compliance);
  });

  it('answers 409 naming the file for an id that exists', async () => {
    const api = await h.request('POST', '/v1/rules', NEW_RULE);
    assert.equal(api.status, 409);
    assert.equal(api.body.code, 'ERR_ADMIN_RULE_EXISTS');
    const owned = await h.request('POST', '/v1/rules', { ...NEW_RULE, id: 'fraud-check' });
    assert.equal(owned.status, 409);
    assert.equal(owned.body.code, 'ERR_ADMIN_RULE_EXISTS');
    assert.match(owned.body.message, /rules\/payments\.yaml/);
  });

  it('answers 400 with positioned diagnostics for a rule that does not compile', async () => {
    const res = await h.request('POST', '/v1/rules', { id: 'broken', condition: 'when { a }\nalways { b.where(x = 1) }' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'ERR_ADMIN_INVALID_RULE');
    const [d] = res.body.diagnostics;
    assert.equal(d.field, 'condition');
    assert.equal(d.severity, 'error');
    assert.equal(d.line, 2);
    assert.equal(typeof d.column, 'number');
    assert.equal(typeof d.code, 'string');
    assert.equal(h.service.pipeline.ruleSet.byId.has('broken'), false);
  });

  it('answers 400 for fields that do not read: unknown keys, a missing condition, a bad severity', async () => {
    for (const body of [
      { id: 'x', condition: 'when { a } always { b }', colour: 'red' },
      { id: 'x' },
      { id: 'x', condition: 'when { a } always { b }', severity: 'urgent' },
    ]) {
      const res = await h.request('POST', '/v1/rules', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.code, 'ERR_ADMIN_INVALID_RULE');
      assert.ok(res.body.diagnostics.length > 0);
    }
  });

  it('answers 400 for bodies that are not a JSON object', async () => {
    const notJson = await h.request('POST', '/v1/rules', '{"id": ');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.code, 'ERR_ADMIN_BAD_JSON');
    const array = await h.request('POST', '/v1/rules', [NEW_RULE]);
    assert.equal(array.status, 400);
    assert.equal(array.body.code, 'ERR_ADMIN_BAD_BODY');
    const none = await h.request('POST', '/v1/rules');
    assert.equal(none.status, 400);
    assert.equal(none.body.code, 'ERR_ADMIN_BAD_BODY');
  });

  it('answers 415 for a body that is not JSON and 413 for one over the limit', async () => {
    const text = await h.request('POST', '/v1/rules', 'id: x', { 'content-type': 'text/plain' });
    assert.equal(text.status, 415);
    assert.equal(text.body.code, 'ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE');
    const big = await h.request('POST', '/v1/rules', { ...NEW_RULE, id: 'big', description: 'x'.repeat(1_100_000) });
    assert.equal(big.status, 413);
    assert.equal(big.body.code, 'ERR_ADMIN_BODY_TOO_LARGE');
  });

  it('updates an API rule: new ETag, the new text active; a GET answer can be sent back as it is', async () => {
    const current = await h.request('GET', '/v1/rules/phi-audit');
    const changed = { ...current.body, condition: 'when { phi.read } always { audit.write and audit.reason }' };
    const res = await h.request('PUT', '/v1/rules/phi-audit', changed, { 'if-match': current.body.etag });
    assert.equal(res.status, 200);
    assert.notEqual(res.body.etag, current.body.etag);
    assert.equal(h.service.pipeline.ruleSet.byId.get('phi-audit')?.condition, changed.condition);
  });

  it('answers 412 for a stale If-Match and keeps the rule as it is', async () => {
    const before = await h.request('GET', '/v1/rules/phi-audit');
    const res = await h.request('PUT', '/v1/rules/phi-audit', { ...NEW_RULE, severity: 'low' }, { 'if-match': '"stale-version-tag-000000"' });
    assert.equal(res.status, 412);
    assert.equal(res.body.code, 'ERR_ADMIN_STALE_ETAG');
    const after = await h.request('GET', '/v1/rules/phi-audit');
    assert.equal(after.body.etag, before.body.etag);
    const weak = await h.request('DELETE', '/v1/rules/phi-audit', undefined, { 'if-match': `W/${before.body.etag}` });
    assert.equal(weak.status, 412);
  });

  it('accepts If-Match: * and a list that names the current tag', async () => {
    const current = await h.request('GET', '/v1/rules/phi-audit');
    const star = await h.request('PUT', '/v1/rules/phi-audit', { ...NEW_RULE, severity: 'high' }, { 'if-match': '*' });
    assert.equal(star.status, 200);
    const list = await h.request('PUT', '/v1/rules/phi-audit', { ...NEW_RULE, severity: 'medium' }, { 'if-match': `"other", ${star.body.etag}` });
    assert.equal(list.status, 200);
    assert.notEqual(list.body.etag, current.body.etag);
  });

  it('answers 400 when the body names another id, and 404 for an unknown rule', async () => {
    const mismatch = await h.request('PUT', '/v1/rules/phi-audit', { ...NEW_RULE, id: 'other' });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.code, 'ERR_ADMIN_ID_MISMATCH');
    const unknown = await h.request('PUT', '/v1/rules/nope', { condition: 'when { a } always { b }' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'ERR_ADMIN_RULE_NOT_FOUND');
    const del = await h.request('DELETE', '/v1/rules/nope');
    assert.equal(del.status, 404);
  });

  it('refuses to edit or delete a file rule with 409 naming its file', async () => {
    const put = await h.request('PUT', '/v1/rules/fraud-check', { condition: 'when { a } always { b }' });
    assert.equal(put.status, 409);
    assert.equal(put.body.code, 'ERR_ADMIN_RULE_FILE_OWNED');
    assert.match(put.body.message, /rules\/payments\.yaml/);
    const del = await h.request('DELETE', '/v1/rules/fraud-check');
    assert.equal(del.status, 409);
    assert.equal(del.body.code, 'ERR_ADMIN_RULE_FILE_OWNED');
    assert.match(del.body.message, /rules\/payments\.yaml/);
    assert.ok(h.service.pipeline.ruleSet.byId.has('fraud-check'));
  });

  it('disables a file rule as an override in the api file; enabling it again removes the override', async () => {
    const off = await h.request('POST', '/v1/rules/fraud-check/disable');
    assert.equal(off.status, 200);
    assert.equal(off.body.enabled, false);
    assert.deepEqual(off.body.override, { enabled: false });
    assert.equal(h.service.pipeline.ruleSet.byId.get('fraud-check')?.enabled, false);
    assert.match(fs.readFileSync(h.apiFile, 'utf8'), /^overrides:\n\s*- id: fraud-check\n\s*enabled: false/m);
    assert.match(fs.readFileSync(`${h.dir}/rules/payments.yaml`, 'utf8'), /id: fraud-check/);

    const on = await h.request('POST', '/v1/rules/fraud-check/enable', undefined, { 'if-match': off.body.etag });
    assert.equal(on.status, 200);
    assert.equal(on.body.enabled, true);
    assert.equal(on.body.override, undefined);
    assert.doesNotMatch(fs.readFileSync(h.apiFile, 'utf8'), /^overrides:/m);
  });

  it('enables a rule its file disables, and answers 412 and 404 as the other changes do', async () => {
    const stale = await h.request('POST', '/v1/rules/quiet-rule/enable', undefined, { 'if-match': '"stale"' });
    assert.equal(stale.status, 412);
    const on = await h.request('POST', '/v1/rules/quiet-rule/enable', undefined, { 'content-type': 'application/json' });
    assert.equal(on.status, 200);
    assert.deepEqual(on.body.override, { enabled: true });
    assert.equal(h.service.pipeline.ruleSet.byId.get('quiet-rule')?.enabled, true);
    const unknown = await h.request('POST', '/v1/rules/nope/disable');
    assert.equal(unknown.status, 404);
  });

  it('disables and deletes an API rule: 204, gone from the set and the file', async () => {
    const off = await h.request('POST', '/v1/rules/phi-audit/disable');
    assert.equal(off.status, 200);
    assert.equal(off.body.enabled, false);
    const del = await h.request('DELETE', '/v1/rules/phi-audit', undefined, { 'if-match': off.body.etag });
    assert.equal(del.status, 204);
    assert.equal(h.service.pipeline.ruleSet.byId.has('phi-audit'), false);
    assert.doesNotMatch(fs.readFileSync(h.apiFile, 'utf8'), /phi-audit/);
    assert.equal((await h.request('GET', '/v1/rules/phi-audit')).status, 404);
  });
});

describe('rules API: validate and test', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness({ rules: { 'payments.yaml': FILE_RULES } });
  });
  after(() => h.stop());

  it('validates a condition without saving anything', async () => {
    const ok = await h.request('POST', '/v1/rules/validate', { condition: 'when { a } always { b }' });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { valid: true, diagnostics: [] });
    const bad = await h.request('POST', '/v1/rules/validate', { condition: 'when { a }\n  always { b' });
    assert.equal(bad.status, 200);
    assert.equal(bad.body.valid, false);
    assert.equal(bad.body.diagnostics[0].line, 2);
    assert.ok(bad.body.diagnostics[0].column > 1);
    assert.equal(fs.existsSync(h.apiFile), false);
  });

  it('validates a whole rule, field problems included', async () => {
    const res = await h.request('POST', '/v1/rules/validate', { id: 'x', severity: 'urgent', condition: 'when { a } always { b }' });
    assert.equal(res.status, 200);
    assert.equal(res.body.valid, false);
    assert.equal(res.body.diagnostics[0].code, 'ERR_DSL_BAD_SEVERITY');
    const good = await h.request('POST', '/v1/rules/validate', { id: 'x', condition: 'when { a } always { b }' });
    assert.equal(good.body.valid, true);
  });

  it('answers 400 for a validate body without a condition or with unknown fields', async () => {
    const none = await h.request('POST', '/v1/rules/validate', {});
    assert.equal(none.status, 400);
    assert.equal(none.body.code, 'ERR_ADMIN_BAD_BODY');
    const extra = await h.request('POST', '/v1/rules/validate', { condition: 'when { a } always { b }', trace: [] });
    assert.equal(extra.status, 400);
    assert.equal(extra.body.code, 'ERR_ADMIN_BAD_BODY');
  });

  it('tests a loaded rule on an example trace: outcome, clause and matched spans', async () => {
    const res = await h.request('POST', '/v1/rules/test', {
      rule_id: 'fraud-check',
      trace: [{ span: 'checkout.order' }, { span: 'payment.process', attributes: { 'payment.amount': 5000 } }],
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.outcome, 'violation');
    assert.equal(res.body.clause, 'always');
    assert.match(res.body.failure, /payment\.fraud_check/);
    assert.deepEqual(res.body.matched_spans, [{ span_id: '0000000000000002', name: 'payment.process', role: 'when', index: 1 }]);
    const pass = await h.request('POST', '/v1/rules/test', {
      rule_id: 'fraud-check',
      trace: [{ span: 'payment.process', attributes: { 'payment.amount': 5000 } }, { span: 'payment.fraud_check' }],
    });
    assert.equal(pass.body.outcome, 'pass');
    assert.equal(pass.body.clause, null);
  });

  it('tests a condition on an OTLP/JSON request, judging each trace apart', async () => {
    const span = (traceId: string, spanId: string, name: string, attrs: Record<string, string> = {}) => ({
      traceId, spanId, name, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000001000000',
      attributes: Object.entries(attrs).map(([key, value]) => ({ key, value: { stringValue: value } })),
    });
    const t1 = '0af7651916cd43dd8448eb211c80319c';
    const t2 = '1af7651916cd43dd8448eb211c80319c';
    const otlp = {
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
        scopeSpans: [{
          scope: { name: 'shop' },
          spans: [span(t1, 'b7ad6b7169203331', 'debug.dump'), span(t1, 'c7ad6b7169203331', 'checkout.order'), span(t2, 'd7ad6b7169203331', 'checkout.order')],
        }],
      }],
    };
    const res = await h.request('POST', '/v1/rules/test', { condition: 'when { checkout.order } never { debug.dump }', otlp });
    assert.equal(res.status, 200);
    assert.equal(res.body.outcome, 'violation');
    assert.equal(res.body.trace_id, t1);
    assert.equal(res.body.clause, 'never');
    assert.deepEqual(res.body.matched_spans.map((s: { span_id: string; role: string }) => `${s.role}:${s.span_id}`).sort(),
      ['never:b7ad6b7169203331', 'when:c7ad6b7169203331']);
    assert.deepEqual(res.body.traces.map((t: { trace_id: string; outcome: string }) => [t.trace_id, t.outcome]), [[t1, 'violation'], [t2, 'pass']]);
  });

  it('answers 400 for a bad sample trace, a bad condition, or both or neither of the inputs', async () => {
    const badTrace = await h.request('POST', '/v1/rules/test', { rule_id: 'fraud-check', trace: [{ name: 'x' }] });
    assert.equal(badTrace.status, 400);
    assert.equal(badTrace.body.code, 'ERR_ADMIN_BAD_TRACE');
    assert.ok(badTrace.body.diagnostics.length > 0);
    const badOtlp = await h.request('POST', '/v1/rules/test', { rule_id: 'fraud-check', otlp: { resourceSpans: 'no' } });
    assert.equal(badOtlp.status, 400);
    assert.equal(badOtlp.body.code, 'ERR_ADMIN_BAD_TRACE');
    const badRule = await h.request('POST', '/v1/rules/test', { condition: 'when { a', trace: [] });
    assert.equal(badRule.status, 400);
    assert.equal(badRule.body.code, 'ERR_ADMIN_INVALID_RULE');
    assert.equal(badRule.body.diagnostics[0].line, 1);
    const both = await h.request('POST', '/v1/rules/test', { rule_id: 'fraud-check', condition: 'when { a } always { b }', trace: [] });
    assert.equal(both.status, 400);
    assert.equal(both.body.code, 'ERR_ADMIN_BAD_BODY');
    const noTrace = await h.request('POST', '/v1/rules/test', { rule_id: 'fraud-check' });
    assert.equal(noTrace.status, 400);
    assert.equal(noTrace.body.code, 'ERR_ADMIN_BAD_BODY');
  });

  it('answers 404 for a test of an unknown rule id', async () => {
    const res = await h.request('POST', '/v1/rules/test', { rule_id: 'nope', trace: [] });
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'ERR_ADMIN_RULE_NOT_FOUND');
  });
});

describe('rules API without rules.api_file', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness({ rules: { 'payments.yaml': FILE_RULES }, apiFile: false });
  });
  after(() => h.stop());

  it('answers 409 to every change and still serves reads, validate and test', async () => {
    for (const [method, path, body] of [
      ['POST', '/v1/rules', NEW_RULE],
      ['POST', '/v1/rules/fraud-check/disable', undefined],
      ['DELETE', '/v1/rules/fraud-check', undefined],
    ] as const) {
      const res = await h.request(method, path, body);
      assert.equal(res.status, 409, `${method} ${path}`);
      assert.equal(res.body.code, 'ERR_ADMIN_NOT_PERSISTENT');
    }
    assert.equal(h.service.pipeline.ruleSet.byId.get('fraud-check')?.enabled, true);
    assert.equal((await h.request('GET', '/v1/rules')).status, 200);
    assert.equal((await h.request('POST', '/v1/rules/validate', { condition: 'when { a } always { b }' })).status, 200);
    assert.equal((await h.request('POST', '/v1/rules/test', { rule_id: 'fraud-check', trace: [] })).status, 200);
  });
});

describe('rules API across a restart', () => {
  it('keeps API rules, overrides and ETags when a new processor starts on the same config', async () => {
    const first = await startAdminHarness({ rules: { 'payments.yaml': FILE_RULES } });
    let second: AdminHarness | null = null;
    try {
      const created = await first.request('POST', '/v1/rules', { ...NEW_RULE, description: 'line one\nline two', example_pass: { trace: [{ span: 'phi.read' }, { span: 'audit.write', attributes: { n: 5000, ok: true } }] } });
      assert.equal(created.status, 201);
      const disabled = await first.request('POST', '/v1/rules/fraud-check/disable');
      await first.stopService();

      second = await startAdminHarness({ dir: first.dir, rules: {} });
      const phi = await second.request('GET', '/v1/rules/phi-audit');
      assert.equal(phi.status, 200);
      assert.equal(phi.body.description, 'line one\nline two');
      assert.equal(phi.body.etag, created.body.etag);
      const fraud = await second.request('GET', '/v1/rules/fraud-check');
      assert.equal(fraud.body.enabled, false);
      assert.equal(fraud.body.etag, disabled.body.etag);
      assert.equal(second.service.pipeline.ruleSet.byId.get('fraud-check')?.enabled, false);
    } finally {
      await second?.stopService();
      await first.stop();
    }
  });
});

describe('rules API file that does not load', () => {
  it('stops startup with the position of the problem in the api file', async () => {
    const first = await startAdminHarness({ rules: { 'payments.yaml': FILE_RULES } });
    try {
      await first.stopService();
      fs.writeFileSync(first.apiFile, 'rules:\n  - id: broken\n    condition: when { a\n');
      await assert.rejects(startAdminHarness({ dir: first.dir }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_PROCESSOR_RULES_DO_NOT_COMPILE');
        assert.match(err.message, /rules\/api\.yaml:3:\d+: error ERR_DSL_/);
        return true;
      });
    } finally {
      await first.stop();
    }
  });
});

describe('rules API under concurrent writers', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness({ rules: { 'payments.yaml': FILE_RULES } });
  });
  after(() => h.stop());

  it('saves every acknowledged create when many arrive at once without If-Match', async () => {
    const ids = Array.from({ length: 16 }, (_, i) => `rule-${i}`);
    const answers = await Promise.all(ids.map((id) => h.request('POST', '/v1/rules', { id, condition: 'when { a } always { b }' })));
    assert.deepEqual(answers.map((a) => a.status), ids.map(() => 201));
    const saved = parseRuleFile(fs.readFileSync(h.apiFile, 'utf8'), h.apiFile);
    assert.deepEqual(saved.diagnostics, []);
    assert.deepEqual(saved.rules.map((r) => r.id).sort(), [...ids].sort());
    for (const id of ids) assert.ok(h.service.pipeline.ruleSet.byId.has(id), id);
  });

  it('lets the last of concurrent updates without If-Match win, file and memory agreeing', async () => {
    const severities = ['low', 'medium', 'high', 'critical', 'low', 'high'];
    const answers = await Promise.all(severities.map((severity) =>
      h.request('PUT', '/v1/rules/rule-0', { condition: 'when { a } always { b }', severity })));
    assert.deepEqual(answers.map((a) => a.status), severities.map(() => 200));
    const saved = parseRuleFile(fs.readFileSync(h.apiFile, 'utf8'), h.apiFile);
    const inFile = saved.rules.find((r) => r.id === 'rule-0')!;
    const active = h.service.pipeline.ruleSet.byId.get('rule-0')!;
    assert.equal(inFile.severity, active.severity);
    const final = await h.request('GET', '/v1/rules/rule-0');
    assert.ok(answers.some((a) => a.body.etag === final.body.etag));
  });

  it('lets exactly one of concurrent updates with the same If-Match through; the others get 412', async () => {
    const current = await h.request('GET', '/v1/rules/rule-1');
    const answers = await Promise.all(['low', 'medium', 'high', 'critical'].map((severity) =>
      h.request('PUT', '/v1/rules/rule-1', { condition: 'when { a } always { b }', severity }, { 'if-match': current.body.etag })));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [200, 412, 412, 412]);
    const winner = answers.find((a) => a.status === 200)!;
    assert.equal((await h.request('GET', '/v1/rules/rule-1')).body.etag, winner.body.etag);
  });
});
