/**
 * Hot reload against a running processor: a good change to a rule file
 * applies to new traces while buffered traces finish under the rules they
 * started with; a bad change keeps the old rules, logs the position and
 * counts the error; SIGHUP reloads; new files in a watched folder are seen.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { hexId, spansNamed } from '../helpers/otlp-build';
import { startAdminHarness, waitUntil } from '../admin/admin-harness';

import type { AdminHarness } from '../admin/admin-harness';

const OLD_RULES = `rules:
  - id: old-rule
    severity: high
    condition: |
      when { checkout.order }
      always { payment.done }
`;

const NEW_RULES = `rules:
  - id: new-rule
    severity: high
    condition: |
      when { checkout.order }
      always { receipt.sent }
`;

// Line 6 holds the problem: "and" with nothing after it.
const BROKEN_RULES = `rules:
  - id: old-rule
    severity: high
    condition: |
      when { checkout.order }
      always { payment.done and }
`;

/** Sends one non-root checkout span, so that the trace stays buffered. */
async function sendCheckout(h: AdminHarness): Promise<string> {
  const traceId = hexId(16);
  await h.sendSpans([{ resource: { 'service.name': 'shop' }, spans: [{ traceId, spanId: hexId(8), parentSpanId: hexId(8), name: 'checkout.order' }] }]);
  return traceId;
}

async function reloadsCounted(h: AdminHarness, result: 'success' | 'error'): Promise<number> {
  const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
  const match = new RegExp(`^betrace_rule_reloads_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text);
  return match === null ? -1 : Number(match[1]);
}

describe('hot reload of a watched rule file', () => {
  it('applies a good change to new traces; buffered traces finish under their old rules', async () => {
    const h = await startAdminHarness({ rules: { 'shop.yaml': OLD_RULES }, sink: true });
    try {
      const before = await sendCheckout(h);
      assert.equal(h.service.pipeline.stats().traces, 1);
      const successes = await reloadsCounted(h, 'success');

      h.writeRules('shop.yaml', NEW_RULES);
      await waitUntil(() => h.service.pipeline.ruleSet.byId.has('new-rule'), 'the new rule set');
      assert.equal(h.service.pipeline.ruleSet.byId.has('old-rule'), false);
      assert.equal(await reloadsCounted(h, 'success'), successes + 1);
      const afterwards = await sendCheckout(h);
      assert.equal(h.service.pipeline.stats().traces, 2);

      await h.stopService();
      await h.sink!.waitFor((requests) => spansNamed(requests, 'betrace.violation').length >= 2, 5000);
      const verdicts = spansNamed(h.sink!.requests, 'betrace.violation')
        .map((s) => `${s.span.traceId} ${String(s.attributes['betrace.violation.rule_id'])}`)
        .sort();
      assert.deepEqual(verdicts, [`${before} old-rule`, `${afterwards} new-rule`].sort());
    } finally {
      await h.stop();
    }
  });

  it('keeps the old rules on a bad change, logs file, line and column, and counts the error', async () => {
    const h = await startAdminHarness({ rules: { 'shop.yaml': OLD_RULES } });
    try {
      const active = h.service.pipeline.ruleSet;
      h.writeRules('shop.yaml', BROKEN_RULES);
      await waitUntil(() => h.logs().some((l) => l.msg === 'rule reload failed; the active rules stay'), 'the failed reload');

      const entry = h.logs().find((l) => l.msg === 'rule reload failed; the active rules stay');
      assert.equal(entry.level, 50);
      assert.equal(entry.reason, 'watch');
      const [d] = entry.diagnostics;
      assert.equal(d.file, `${h.dir}/rules/shop.yaml`);
      assert.equal(d.line, 6);
      assert.equal(d.column, BROKEN_RULES.split('\n')[5].indexOf('and }') + 5);
      assert.match(entry.report, /shop\.yaml:6:\d+: error ERR_DSL_/);
      assert.match(entry.report, /\^/);

      assert.equal(h.service.pipeline.ruleSet, active);
      assert.equal(await reloadsCounted(h, 'error'), 1);
      const listed = await h.request('GET', '/v1/rules');
      assert.deepEqual(listed.body.rules.map((r: { id: string }) => r.id), ['old-rule']);

      const traceId = await sendCheckout(h);
      await h.stopService();
      assert.deepEqual(h.service.violations.query({ limit: 10 }).records.map((r) => [r.trace_id, r.rule_id]), [[traceId, 'old-rule']]);
    } finally {
      await h.stop();
    }
  });

  it('keeps the old rules when a file is emptied, as a truncated save leaves it', async () => {
    const h = await startAdminHarness({ rules: { 'shop.yaml': OLD_RULES } });
    try {
      const active = h.service.pipeline.ruleSet;
      h.writeRules('shop.yaml', '');
      await waitUntil(() => h.logs().some((l) => l.msg === 'rule reload failed; the active rules stay'), 'the failed reload');
      const entry = h.logs().find((l) => l.msg === 'rule reload failed; the active rules stay');
      assert.equal(entry.diagnostics[0].code, 'ERR_DSL_FILE_EMPTY');
      assert.equal(entry.diagnostics[0].file, `${h.dir}/rules/shop.yaml`);
      assert.equal(h.service.pipeline.ruleSet, active);
      assert.equal(await reloadsCounted(h, 'error'), 1);
    } finally {
      await h.stop();
    }
  });

  it('sees a new file in the folder of a glob pattern, and keeps the API rules and overrides', async () => {
    const h = await startAdminHarness({ rules: { 'shop.yaml': OLD_RULES } });
    try {
      assert.equal((await h.request('POST', '/v1/rules', { id: 'api-rule', condition: 'when { a } always { b }' })).status, 201);
      assert.equal((await h.request('POST', '/v1/rules/old-rule/disable')).status, 200);
      h.writeRules('more.yaml', NEW_RULES);
      await waitUntil(() => h.service.pipeline.ruleSet.byId.has('new-rule'), 'the rule of the new file');
      const set = h.service.pipeline.ruleSet;
      assert.deepEqual(set.rules.map((r) => [r.id, r.enabled]), [['new-rule', true], ['old-rule', false], ['api-rule', true]]);
    } finally {
      await h.stop();
    }
  });
});

describe('reload on SIGHUP', () => {
  it('reloads changed files when the process gets SIGHUP, with watching off', async () => {
    const h = await startAdminHarness({ rules: { 'shop.yaml': OLD_RULES }, watch: false });
    try {
      const version = h.service.pipeline.ruleSet.version;
      h.writeRules('shop.yaml', NEW_RULES);
      assert.equal(h.signals.listenerCount('SIGHUP'), 1);
      h.signals.emit('SIGHUP');
      await waitUntil(() => h.service.pipeline.ruleSet.byId.has('new-rule'), 'the reload after SIGHUP');
      assert.ok(h.service.pipeline.ruleSet.version > version);
      const entry = h.logs().find((l) => l.msg === 'rules reloaded');
      assert.equal(entry.reason, 'sighup');
    } finally {
      await h.stop();
    }
    assert.equal(h.signals.listenerCount('SIGHUP'), 0);
  });
});
