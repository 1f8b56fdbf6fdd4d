/**
 * The shared rules' copy in each member's `rules.api_file`: every member
 * writes the rules and overrides it learns of to its file; a Redis that
 * restarts without its data is reseeded from a file, with a warning that
 * says how much was reseeded; without a file, the warning says how much
 * was lost.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { readApiRulesFile } from '../../processor/rules/api-rules-file';
import { startOtlpSink } from '../helpers/otlp-sink';
import { skipUnless } from '../helpers/requirements';
import { startMember, waitUntil } from './fleet-harness';
import { EVERY_SPAN_RULE } from './fleet-workload';
import { WARN, captureLog } from '../helpers/log-capture';
import { startRedis } from './redis-process';

import type Redis from 'ioredis';

import type { OtlpSink } from '../helpers/otlp-sink';
import type { FleetMember } from './fleet-harness';
import type { CapturedLog, LogLine } from '../helpers/log-capture';
import type { RedisProcess } from './redis-process';

const SKIP = skipUnless('redis-server', 'BETRACE_REQUIRE_REDIS');
const PREFIX = 'copy:';
const RULE = { id: 'copied', severity: 'low', condition: 'when { debug.dump } always { audit.log }' };

/** The rule IDs and overrides an api file holds; null while it does not exist or does not read. */
async function readCopy(file: string): Promise<{ rules: string[]; overrides: Array<[string, boolean]> } | null> {
  const read = await readApiRulesFile(file);
  if (read.state === null || read.text === '') return null;
  return { rules: read.state.rules.map((r) => r.id), overrides: [...read.state.overrides] };
}

async function createRule(member: FleetMember, rule: object): Promise<void> {
  const created = await fetch(`${member.adminUrl}/v1/rules`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rule),
  });
  assert.equal(created.status, 201, await created.clone().text());
}

async function ruleState(member: FleetMember, id: string): Promise<{ status: number; enabled?: boolean }> {
  const got = await fetch(`${member.adminUrl}/v1/rules/${id}`);
  if (got.status !== 200) return { status: got.status };
  return { status: 200, enabled: ((await got.json()) as { enabled: boolean }).enabled };
}

function warnings(logs: readonly CapturedLog[], msg: string): LogLine[] {
  return logs.flatMap((l) => l.lines.filter((line) => line.level === WARN && line.msg === msg));
}

describe('the shared rules copied to each member\'s api file', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let direct: Redis;
  let sink: OtlpSink;
  const members: FleetMember[] = [];
  const logs: CapturedLog[] = [];

  before(async () => {
    redis = await startRedis();
    direct = redis.client();
    sink = await startOtlpSink({ protocol: 'grpc' });
    for (let i = 0; i < 2; i++) {
      const log = captureLog();
      logs.push(log);
      members.push(await startMember(redis.url, PREFIX, sink, {
        rules: { 'steps.yaml': EVERY_SPAN_RULE },
        apiFile: 'api-rules.yaml',
        logger: log.logger,
      }));
    }
  });
  after(async () => {
    for (const m of members) await m.stop();
    await sink?.close();
    await redis?.close();
  });

  it('writes the rules and overrides changed through any member to every member\'s api file', async () => {
    const [a, b] = members;
    await createRule(a, RULE);
    const disabled = await fetch(`${b.adminUrl}/v1/rules/every-span/disable`, { method: 'POST' });
    assert.equal(disabled.status, 200);
    const expected = { rules: ['copied'], overrides: [['every-span', false]] };
    for (const m of members) {
      const file = m.service.config.rules.apiFile;
      await waitUntil(`the copy in ${file}`, async () => JSON.stringify(await readCopy(file)) === JSON.stringify(expected));
    }
  });

  it('reseeds a redis that restarted empty from the api files, and warns how much it reseeded', async () => {
    await direct.set('copy:marker', '1');
    await redis.restart();
    assert.equal(await direct.exists('copy:marker'), 0, 'redis came back without its data');
    await waitUntil('the rules back in redis', async () => (await direct.hget(`${PREFIX}{rules}:api`, 'copied')) !== null);
    for (const m of members) {
      await waitUntil('the rule active on every member', async () => (await ruleState(m, 'copied')).status === 200);
      assert.deepEqual(await ruleState(m, 'every-span'), { status: 200, enabled: false });
    }
    const reseeded = warnings(logs, 'redis had lost the shared rules; reseeded them from the api file');
    assert.ok(reseeded.length >= 1, logs.flatMap((l) => l.messages()).join('\n'));
    for (const line of reseeded) {
      assert.deepEqual([line.rules, line.overrides, line.heldRules, line.heldOverrides], [1, 1, 1, 1]);
    }
  });
});

describe('shared rules lost with redis\'s data and no api file', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let sink: OtlpSink;
  let member: FleetMember;
  const log = captureLog();

  before(async () => {
    redis = await startRedis();
    sink = await startOtlpSink({ protocol: 'grpc' });
    member = await startMember(redis.url, PREFIX, sink, { rules: { 'steps.yaml': EVERY_SPAN_RULE }, logger: log.logger });
  });
  after(async () => {
    await member?.stop();
    await sink?.close();
    await redis?.close();
  });

  it('warns how many rules and overrides were lost', async () => {
    await createRule(member, RULE);
    await createRule(member, { ...RULE, id: 'also-lost' });
    await redis.restart();
    await waitUntil('the rules gone from the member', async () => (await ruleState(member, 'copied')).status === 404);
    const lost = warnings([log], 'redis lost the shared rules and nothing restores them');
    assert.equal(lost.length, 1, log.messages().join('\n'));
    assert.deepEqual([lost[0].rules, lost[0].overrides, lost[0].reason], [2, 0, 'no rules.api_file is configured to restore them from']);
  });
});
