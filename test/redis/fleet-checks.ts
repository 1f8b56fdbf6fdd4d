/**
 * Checks shared by the fleet tests on one redis-server and on a cluster:
 * the fleet's verdicts against one memory instance's, and what is left in
 * Redis afterwards.
 */

import assert from 'node:assert/strict';

import { callUnary, createRawClient } from '../receiver/raw-grpc';
import { sumMetric, waitUntil } from './fleet-harness';
import { byTraceAndRule, receivedVerdicts, toRounds } from './fleet-workload';

import type Redis from 'ioredis';

import type { Harness } from '../helpers/processor-harness';
import type { OtlpSink } from '../helpers/otlp-sink';
import type { FleetMember } from './fleet-harness';
import type { TestTrace } from './fleet-workload';

/**
 * Sends the traces span by span round-robin over the members (so the spans
 * of each trace reach different members), and the same requests to
 * `single`; then asserts each trace was evaluated once, and the
 * fleet emitted once each violation and evidence span the single instance
 * emitted, citing the same spans.
 */
export async function assertFleetMatchesSingle(
  fleet: { readonly sink: OtlpSink; readonly members: readonly FleetMember[] },
  single: Harness,
  traces: readonly TestTrace[],
): Promise<void> {
  const completedBefore = await sumMetric([single], 'betrace_traces_completed_total');
  const client = createRawClient(single.grpcEndpoint);
  try {
    // All at once, so that no trace idles out between its spans however busy the machine is.
    const requests = toRounds(traces, fleet.members.length).flat();
    const outcomes = await Promise.all([
      ...requests.map((r) => fleet.members[r.member].send(r.request)),
      ...requests.map((r) => callUnary(client, r.request)),
    ]);
    for (const o of outcomes) assert.equal(o.error, null);
  } finally {
    client.close();
  }
  await waitUntil('every trace evaluated', async () =>
    await sumMetric(fleet.members, 'betrace_traces_completed_total') >= traces.length &&
    await sumMetric([single], 'betrace_traces_completed_total') >= traces.length + completedBefore);
  await waitUntil('the verdicts delivered', async () =>
    receivedVerdicts(single.sink!.requests).length === await sumMetric([single], 'betrace_violations_total') &&
    receivedVerdicts(fleet.sink.requests).length === await sumMetric(fleet.members, 'betrace_violations_total'));

  assert.equal(await sumMetric(fleet.members, 'betrace_traces_completed_total'), traces.length, 'each trace once');
  assert.equal(await sumMetric([single, ...fleet.members], 'betrace_late_spans_total'), 0, 'every trace complete when evaluated');
  const expected = byTraceAndRule(receivedVerdicts(single.sink!.requests));
  const verdicts = receivedVerdicts(fleet.sink.requests);
  assert.equal(verdicts.length, new Set(verdicts.map((v) => v.spanId)).size, 'no verdict twice');
  assert.ok([...expected.keys()].some((k) => k.endsWith('/high-value-checked')));
  assert.ok([...expected.keys()].some((k) => k.endsWith('/no-debug')));
  assert.deepEqual(byTraceAndRule(verdicts), expected);
  const evidence = (requests: readonly Uint8Array[]) => [...byTraceAndRule(receivedVerdicts(requests, 'compliance.evidence')).keys()];
  assert.deepEqual(evidence(fleet.sink.requests), evidence(single.sink!.requests));
  assert.equal(await sumMetric(fleet.members, 'betrace_redis_claims_total{result="claimed"}'), traces.length, 'each trace claimed once');
}

/**
 * Asserts that the nodes hold no key under `prefix` but decided markers
 * (each with a TTL of at most `decidedTtlMs`) and the shared rules, once
 * the due index has emptied.
 */
export async function assertOnlyDecidedLeft(nodes: readonly Redis[], prefix: string, decidedTtlMs: number): Promise<void> {
  const keysOf = async (): Promise<string[]> => (await Promise.all(nodes.map((n) => n.keys(`${prefix}*`)))).flat();
  await waitUntil('the due index empty', async () => (await keysOf()).every((k) => !k.startsWith(`${prefix}due:`)));
  const keys = await keysOf();
  assert.deepEqual(keys.filter((k) => !k.endsWith(':decided') && !k.startsWith(`${prefix}{rules}:`)), []);
  const decided = keys.filter((k) => k.endsWith(':decided'));
  assert.ok(decided.length > 0);
  for (const node of nodes) {
    for (const key of (await node.keys(`${prefix}*:decided`)).slice(0, 20)) {
      const ttl = await node.pttl(key);
      assert.ok(ttl > 0 && ttl <= decidedTtlMs, `${key} ttl ${ttl}`);
    }
  }
}
