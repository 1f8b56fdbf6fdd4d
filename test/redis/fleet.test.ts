/**
 * Three processors on one redis-server, spans of every trace spread over
 * them: each trace is evaluated once and yields the verdicts one memory
 * instance finds; afterwards Redis holds no span data; rules changed
 * through the API of one member apply on all; a member whose rule files
 * differ is not ready.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startHarness } from '../helpers/processor-harness';
import { skipUnless } from '../helpers/requirements';
import { assertFleetMatchesSingle, assertOnlyDecidedLeft } from './fleet-checks';
import { FLEET_BUFFER, startFleet, startMember, waitUntil } from './fleet-harness';
import { EVERY_SPAN_RULE, FLEET_RULES, byTraceAndRule, createPaymentTraces, receivedVerdicts, toRounds } from './fleet-workload';
import { startRedis } from './redis-process';

import type { Harness } from '../helpers/processor-harness';
import type { Fleet, FleetMember } from './fleet-harness';
import type { RoundRequest } from './fleet-workload';
import type { RedisProcess } from './redis-process';

const SKIP = skipUnless('redis-server', 'BETRACE_REQUIRE_REDIS');
const PREFIX = 'fleet:';

describe('a fleet of three on one redis', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let fleet: Fleet;
  let single: Harness;

  before(async () => {
    redis = await startRedis();
    fleet = await startFleet(redis.url, PREFIX, 3, { rules: { 'shop.yaml': FLEET_RULES } });
    single = await startHarness({
      rules: { 'shop.yaml': FLEET_RULES },
      bufferConfig: `\n  idle_timeout: ${FLEET_BUFFER.idleTimeout}\n  root_grace: ${FLEET_BUFFER.rootGrace}\n  max_trace_age: ${FLEET_BUFFER.maxTraceAge}`,
    });
  });
  after(async () => {
    await fleet?.stop();
    await single?.stop();
    await redis?.close();
  });

  it('evaluates every trace once and emits exactly the verdicts of a single instance', async () => {
    await assertFleetMatchesSingle(fleet, single, createPaymentTraces(60));
  });

  it('leaves no span data in redis once the load is evaluated, only decided markers with their TTL', async () => {
    await assertOnlyDecidedLeft([redis.client()], PREFIX, 60_000);
  });

  it('applies a rule created through one member\'s API on every member', async () => {
    const rule = { id: 'debug-audited', severity: 'low', condition: 'when { debug.dump } always { audit.log }' };
    const created = await fetch(`${fleet.members[0].adminUrl}/v1/rules`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rule),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const etag = created.headers.get('etag');
    for (const m of fleet.members.slice(1)) {
      await waitUntil('the rule on another member', async () => (await fetch(`${m.adminUrl}/v1/rules/debug-audited`)).status === 200);
      assert.equal((await fetch(`${m.adminUrl}/v1/rules/debug-audited`)).headers.get('etag'), etag);
    }
    const traces = createPaymentTraces(10);
    await sendRounds(fleet.members, toRounds(traces, 3));
    const flagged = traces.filter((t) => t.spans.some((s) => s.name === 'debug.dump')).map((t) => `${t.traceId}/debug-audited`);
    assert.ok(flagged.length > 0);
    await waitUntil('the new rule\'s verdicts', () => {
      const got = byTraceAndRule(receivedVerdicts(fleet.sink.requests));
      return flagged.every((k) => got.has(k));
    });
  });

  it('shares enabling and disabling a file rule, and refuses a stale If-Match from another member', async () => {
    const [a, b, c] = fleet.members;
    const before = await fetch(`${c.adminUrl}/v1/rules/no-debug`);
    const staleEtag = before.headers.get('etag')!;
    const disabled = await fetch(`${b.adminUrl}/v1/rules/no-debug/disable`, { method: 'POST' });
    assert.equal(disabled.status, 200);
    for (const m of [a, c]) {
      await waitUntil('the override on every member', async () =>
        ((await (await fetch(`${m.adminUrl}/v1/rules/no-debug`)).json()) as { enabled: boolean }).enabled === false);
    }
    const stale = await fetch(`${c.adminUrl}/v1/rules/no-debug/enable`, { method: 'POST', headers: { 'if-match': staleEtag } });
    assert.equal(stale.status, 412);
    assert.equal(((await stale.json()) as { code: string }).code, 'ERR_ADMIN_STALE_ETAG');
  });

  it('turns a member whose rule files differ from the fleet\'s not ready, and leaves the others ready', async () => {
    const odd = await startMember(redis.url, PREFIX, fleet.sink, { rules: { 'other.yaml': EVERY_SPAN_RULE } });
    try {
      await waitUntil('the odd member not ready', async () => (await fetch(`${odd.adminUrl}/readyz`)).status === 503);
      const body = (await (await fetch(`${odd.adminUrl}/readyz`)).json()) as { reasons: string[] };
      assert.ok(body.reasons.some((r) => r.startsWith('file rules differ from the fleet\'s')), body.reasons.join('; '));
      for (const m of fleet.members) assert.equal((await fetch(`${m.adminUrl}/readyz`)).status, 200);
    } finally {
      await odd.stop();
    }
  });
});

async function sendRounds(members: readonly FleetMember[], rounds: readonly RoundRequest[][]): Promise<void> {
  const outcomes = await Promise.all(rounds.flat().map((r) => members[r.member].send(r.request)));
  for (const o of outcomes) assert.equal(o.error, null);
}
