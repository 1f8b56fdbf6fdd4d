/**
 * The fleet test against a local three-node Redis Cluster: the same
 * verdicts as one memory instance, no command that failed (a cross-slot
 * script or pipeline would), and no span data left on any node.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startHarness } from '../helpers/processor-harness';
import { skipUnless } from '../helpers/requirements';
import { assertFleetMatchesSingle, assertOnlyDecidedLeft } from './fleet-checks';
import { FLEET_BUFFER, startFleet, sumMetric } from './fleet-harness';
import { FLEET_RULES, createPaymentTraces } from './fleet-workload';
import { startRedisCluster } from './redis-process';

import type { Harness } from '../helpers/processor-harness';
import type { Fleet } from './fleet-harness';
import type { RedisCluster } from './redis-process';

const SKIP = skipUnless('redis-server', 'BETRACE_REQUIRE_REDIS');
const PREFIX = 'cluster:';

describe('a fleet of three on a three-node redis cluster', { skip: SKIP }, () => {
  let cluster: RedisCluster;
  let fleet: Fleet;
  let single: Harness;

  before(async () => {
    cluster = await startRedisCluster();
    fleet = await startFleet(cluster.url, PREFIX, 3, { rules: { 'shop.yaml': FLEET_RULES } });
    single = await startHarness({
      rules: { 'shop.yaml': FLEET_RULES },
      bufferConfig: `\n  idle_timeout: ${FLEET_BUFFER.idleTimeout}\n  root_grace: ${FLEET_BUFFER.rootGrace}\n  max_trace_age: ${FLEET_BUFFER.maxTraceAge}`,
    });
  });
  after(async () => {
    await fleet?.stop();
    await single?.stop();
    await cluster?.close();
  });

  it('connects as a cluster client', () => {
    for (const m of fleet.members) assert.equal(m.service.fleet?.connection.cluster, true);
  });

  it('evaluates every trace once with the verdicts of a single instance, and no command fails', async () => {
    await assertFleetMatchesSingle(fleet, single, createPaymentTraces(60));
    assert.equal(await sumMetric(fleet.members, 'betrace_redis_errors_total'), 0);
    const nodesWithKeys = await Promise.all(cluster.nodes.map(async (n) => (await n.client().dbsize()) > 0));
    assert.ok(nodesWithKeys.every(Boolean), 'keys spread over every node');
  });

  it('leaves no span data on any node, only decided markers with their TTL', async () => {
    await assertOnlyDecidedLeft(cluster.nodes.map((n) => n.client()), PREFIX, 60_000);
  });
});
