/**
 * The /metrics exposition passes Prometheus's own linter after real
 * traffic, so dashboards and alerts can rely on its names and format.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';

import { buildRequest, hexId } from '../helpers/otlp-build';
import { startHarness } from '../helpers/processor-harness';
import { skipUnless } from '../helpers/requirements';
import { callUnary, createRawClient } from '../receiver/raw-grpc';

import type { Harness } from '../helpers/processor-harness';

const skip = skipUnless('promtool', 'BETRACE_REQUIRE_PROMTOOL');

describe('the metrics endpoint', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      rules: { 'r.yaml': 'rules:\n  - id: needs-b\n    compliance: [{ framework: SOC2, control: CC7.2 }]\n    condition: when { a.step } always { b.step }\n' },
    });
    const client = createRawClient(h.grpcEndpoint);
    await callUnary(client, buildRequest([{ spans: [{ traceId: hexId(16), spanId: hexId(8), name: 'a.step' }] }]));
    await callUnary(client, Buffer.from([0xff]));
    client.close();
    await h.sink!.waitFor((reqs) => reqs.length >= 2, 5000);
  });
  after(async () => {
    await h.stop();
  });

  it('passes promtool check metrics', { skip }, async () => {
    const res = await fetch(`${h.adminUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /betrace_violations_total\{rule_id="needs-b",severity="MEDIUM"\} 1/);
    assert.match(text, /betrace_requests_refused_total\{transport="grpc",reason="malformed"\} 1/);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  });

  it('answers /healthz and /readyz', async () => {
    assert.equal((await fetch(`${h.adminUrl}/healthz`)).status, 200);
    const ready = await fetch(`${h.adminUrl}/readyz`);
    assert.equal(ready.status, 200);
  });
});
