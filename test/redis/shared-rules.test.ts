/**
 * The rules API's rules in Redis: the store keeps order and overrides and
 * refuses a save made from an old version; two rule managers that change
 * the shared rules at the same moment both succeed, neither overwriting the
 * other; a change of the api file alone (the shared rules' copy) reloads
 * nothing; a fleet's first start takes the api file's rules; and how the
 * fleet's file rules are chosen.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';

import { Registry } from 'prom-client';

import { compileRule, parseRuleDefinition } from '../../dsl/rule-file';
import { createRedisConnection } from '../../processor/buffer/redis-connection';
import { createRedisMetrics } from '../../processor/buffer/redis-metrics';
import { createFleet } from '../../processor/fleet/fleet';
import { chooseFleetDigest } from '../../processor/fleet/fleet-rule-sync';
import { RedisRuleStore } from '../../processor/fleet/redis-rule-store';
import { createSilentLogger } from '../../processor/log';
import { loadRuleSet } from '../../processor/rules/rule-loader';
import { RuleManager } from '../../processor/rules/rule-manager';
import { skipUnless } from '../helpers/requirements';
import { startRedis } from './redis-process';

import type Redis from 'ioredis';

import type { BufferConfig, RulesConfig } from '../../config/types';
import type { CompiledRule } from '../../dsl/rule';
import type { RedisConnection } from '../../processor/buffer/redis-connection';
import type { PipelineMetrics } from '../../processor/pipeline-metrics';
import type { RedisProcess } from './redis-process';

const SKIP = skipUnless('redis-server', 'BETRACE_REQUIRE_REDIS');
const PREFIX = 'rules:';

function rule(id: string, condition = 'when { x } always { y }'): CompiledRule {
  return compileRule(parseRuleDefinition({ id, condition }).definition!).rule!;
}

const NO_METRICS = {
  rulesLoaded: { set: () => undefined },
  ruleReloads: { inc: () => undefined },
} as unknown as Pick<PipelineMetrics, 'rulesLoaded' | 'ruleReloads'>;

describe('chooseFleetDigest', () => {
  const member = (digest: string, startedMs: number) => ({ instanceId: `${digest}${startedMs}`, fileRulesDigest: digest, heartbeatMs: 0, startedMs });

  it('picks the digest most instances hold', () => {
    assert.equal(chooseFleetDigest([member('a', 1), member('b', 2), member('b', 3)], 'x'), 'b');
  });

  it('breaks a tie in favour of the digest held longest', () => {
    assert.equal(chooseFleetDigest([member('b', 5), member('a', 2), member('b', 9), member('a', 7)], 'x'), 'a');
  });

  it('falls back to the instance\'s own digest when no instance is registered', () => {
    assert.equal(chooseFleetDigest([], 'mine'), 'mine');
  });
});

describe('the shared rules in redis', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let direct: Redis;
  let dir: string;
  const connections: RedisConnection[] = [];

  async function createStore(): Promise<RedisRuleStore> {
    const connection = createRedisConnection({ url: redis.url, keyPrefix: PREFIX }, { logger: createSilentLogger() });
    connections.push(connection);
    assert.equal(await connection.waitReady(5000), true);
    return new RedisRuleStore(connection, PREFIX, createRedisMetrics(new Registry()));
  }

  async function createManager(store: RedisRuleStore, config: RulesConfig): Promise<RuleManager> {
    const stored = await store.load();
    const loaded = await loadRuleSet(config, { store, ...stored });
    assert.notEqual(loaded.catalog, null, loaded.report);
    return new RuleManager({
      config,
      initial: loaded.catalog!,
      initialApiDigest: '',
      apply: () => undefined,
      metrics: NO_METRICS,
      logger: createSilentLogger(),
    });
  }

  before(async () => {
    redis = await startRedis();
    direct = redis.client();
  });
  after(async () => {
    for (const c of connections) await c.close();
    await redis?.close();
  });
  beforeEach(async () => {
    await direct.flushall();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-shared-rules-'));
    fs.writeFileSync(path.join(dir, 'file.yaml'), 'rules:\n  - id: file-rule\n    condition: when { a } always { b }\n');
  });

  it('reads back the rules in their order with the overrides, and refuses a save from an old version', async () => {
    const store = await createStore();
    const state = { rules: [rule('zeta'), rule('alpha', 'when { p } never { q }')], overrides: new Map([['file-rule', false]]) };
    assert.equal(await store.save(state, 0), 1);
    const read = await store.load();
    assert.equal(read.version, 1);
    assert.deepEqual(read.state.rules.map((r) => [r.id, r.condition]), [['zeta', 'when { x } always { y }'], ['alpha', 'when { p } never { q }']]);
    assert.deepEqual([...read.state.overrides], [['file-rule', false]]);
    assert.equal(await store.save({ rules: [], overrides: new Map() }, 0), null);
    assert.equal((await store.load()).state.rules.length, 2);
  });

  it('applies two changes made at once through two instances, neither overwriting the other', async () => {
    const config: RulesConfig = { files: [path.join(dir, '*.yaml')], apiFile: '', watch: false };
    const first = await createManager(await createStore(), config);
    const second = await createManager(await createStore(), config);
    assert.equal(first.persistent, true);
    await Promise.all([first.create(rule('one')), second.create(rule('two')), first.setEnabled('file-rule', false)]);
    const stored = await (await createStore()).load();
    assert.deepEqual(stored.state.rules.map((r) => r.id).sort(), ['one', 'two']);
    assert.deepEqual([...stored.state.overrides], [['file-rule', false]]);
    await second.syncShared(stored.version);
    assert.equal(second.catalog.apiVersion, stored.version);
    assert.deepEqual(second.catalog.entries.map((e) => [e.rule.id, e.rule.enabled, e.source]).sort(),
      [['file-rule', false, 'file'], ['one', true, 'api'], ['two', true, 'api']]);
    await assert.rejects(second.create(rule('one')), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_ADMIN_RULE_EXISTS');
      return true;
    });
  });

  it('reloads nothing when only the api file changes, which is a copy of the shared rules', async () => {
    const apiFile = path.join(dir, 'api-rules.yaml');
    const config: RulesConfig = { files: [path.join(dir, '*.yaml')], apiFile, watch: false };
    const manager = await createManager(await createStore(), config);
    const outcome = await manager.filesChanged(new Set([apiFile]));
    assert.deepEqual([outcome.ok, outcome.skipped], [true, true]);
    const other = await manager.filesChanged(new Set([path.join(dir, 'file.yaml')]));
    assert.deepEqual([other.ok, other.skipped], [true, false]);
  });

  it('takes the api file\'s rules as the shared rules when a fleet first starts, and ignores the file later', async () => {
    const apiFile = path.join(dir, 'api-rules.yaml');
    fs.writeFileSync(apiFile, 'rules:\n  - id: from-file\n    condition: when { c } always { d }\n');
    const config: RulesConfig = { files: [path.join(dir, 'file.yaml')], apiFile, watch: false };
    const fleetConfig: BufferConfig = {
      type: 'redis',
      maxTraces: 1,
      maxSpansPerTrace: 10,
      maxBytes: 1,
      idleTimeoutMs: 100,
      rootGraceMs: 10,
      maxTraceAgeMs: 1000,
      onEvict: 'evaluate',
      decidedCache: { maxTraces: 1, ttlMs: 1000 },
      redis: { url: redis.url, keyPrefix: PREFIX },
    };
    const fleet = createFleet(fleetConfig, new Registry(), createSilentLogger());
    try {
      const loaded = await fleet.loadRules(config);
      assert.deepEqual(loaded.catalog!.entries.map((e) => [e.rule.id, e.source]), [['file-rule', 'file'], ['from-file', 'api']]);
      assert.equal(loaded.catalog!.apiVersion, 1);
      fs.writeFileSync(apiFile, 'rules: []\n');
      const again = await fleet.loadRules(config);
      assert.deepEqual(again.catalog!.entries.map((e) => e.rule.id), ['file-rule', 'from-file']);
    } finally {
      await fleet.close();
    }
  });
});
