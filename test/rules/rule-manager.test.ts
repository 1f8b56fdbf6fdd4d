/**
 * The rule manager on its own, with real files in a temp folder and a
 * recording stand-in for the pipeline: loading with the api file, reload
 * coalescing and failure, the watcher's own-write check, API changes that
 * cannot be saved, and shutdown.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { compileRule, parseRuleDefinition } from '../../dsl/rule-file';
import { createSilentLogger } from '../../processor/log';
import { loadRuleSet } from '../../processor/rules/rule-loader';
import { RuleManager } from '../../processor/rules/rule-manager';

import type { RulesConfig } from '../../config/types';
import type { CompiledRule } from '../../dsl/rule';
import type { RuleSet } from '../../dsl/rule-set';
import type { PipelineMetrics } from '../../processor/pipeline-metrics';
import type { RuleChange } from '../../processor/rules/rule-manager';

const FILE_RULES = `rules:
  - id: file-rule
    condition: when { a } always { b }
`;

function apiRule(id: string, condition = 'when { x } always { y }'): CompiledRule {
  const compiled = compileRule(parseRuleDefinition({ id, condition }).definition!);
  return compiled.rule!;
}

interface Fixture {
  readonly dir: string;
  readonly config: RulesConfig;
  readonly applied: RuleSet[];
  readonly changes: RuleChange[];
  readonly reloads: Record<string, number>;
  manager: RuleManager;
}

async function createFixture(dir: string, onChange?: (c: RuleChange) => void, apiFile = path.join(dir, 'rules', 'api.yaml')): Promise<Fixture> {
  const config: RulesConfig = { files: [path.join(dir, 'rules', '*.yaml')], apiFile, watch: false };
  const loaded = await loadRuleSet(config);
  assert.notEqual(loaded.catalog, null, loaded.report);
  const applied: RuleSet[] = [];
  const changes: RuleChange[] = [];
  const reloads: Record<string, number> = { success: 0, error: 0 };
  const metrics = {
    rulesLoaded: { set: () => undefined },
    ruleReloads: { inc: (labels: { result: string }) => { reloads[labels.result]++; } },
  } as unknown as Pick<PipelineMetrics, 'rulesLoaded' | 'ruleReloads'>;
  const manager = new RuleManager({
    config,
    initial: loaded.catalog!,
    initialApiDigest: loaded.apiFileDigest,
    apply: (set) => applied.push(set),
    metrics,
    logger: createSilentLogger(),
    onChange: onChange ?? ((c) => changes.push(c)),
  });
  return { dir, config, applied, changes, reloads, manager };
}

describe('loadRuleSet', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-loader-'));
    fs.mkdirSync(path.join(dir, 'rules'));
    fs.writeFileSync(path.join(dir, 'rules', 'a.yaml'), FILE_RULES);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loads the api file apart from the glob that matches it, with its overrides', async () => {
    fs.writeFileSync(path.join(dir, 'rules', 'api.yaml'), 'rules:\n  - id: api-rule\n    condition: when { x } always { y }\noverrides:\n  - id: file-rule\n    enabled: false\n');
    const loaded = await loadRuleSet({ files: [path.join(dir, 'rules', '*.yaml')], apiFile: path.join(dir, 'rules', 'api.yaml'), watch: true });
    assert.deepEqual(loaded.diagnostics, []);
    const entries = loaded.catalog!.entries.map((e) => [e.rule.id, e.source, e.rule.enabled, e.override]);
    assert.deepEqual(entries, [['file-rule', 'file', false, false], ['api-rule', 'api', true, null]]);
    assert.deepEqual(loaded.ruleSet!.enabled.map((r) => r.id), ['api-rule']);
  });

  it('refuses an api rule whose id a rule file holds, naming both places', async () => {
    fs.writeFileSync(path.join(dir, 'rules', 'api.yaml'), 'rules:\n  - id: file-rule\n    condition: when { x } always { y }\n');
    const loaded = await loadRuleSet({ files: [path.join(dir, 'rules', '*.yaml')], apiFile: path.join(dir, 'rules', 'api.yaml'), watch: true });
    assert.equal(loaded.ruleSet, null);
    const [d] = loaded.diagnostics;
    assert.equal(d.code, 'ERR_DSL_DUPLICATE_ID');
    assert.equal(d.file, path.join(dir, 'rules', 'api.yaml'));
    assert.equal(d.line, 2);
    assert.match(d.hint ?? '', /a\.yaml:2:5/);
    assert.match(loaded.report, /api\.yaml:2:5: error ERR_DSL_DUPLICATE_ID/);
  });

  it('keeps an override of a rule no file holds, with a warning', async () => {
    fs.writeFileSync(path.join(dir, 'rules', 'api.yaml'), 'rules: []\noverrides:\n  - id: gone\n    enabled: false\n');
    const loaded = await loadRuleSet({ files: [path.join(dir, 'rules', '*.yaml')], apiFile: path.join(dir, 'rules', 'api.yaml'), watch: true });
    assert.notEqual(loaded.ruleSet, null);
    assert.equal(loaded.diagnostics[0].code, 'ERR_ADMIN_OVERRIDE_UNUSED');
    assert.equal(loaded.diagnostics[0].severity, 'warning');
    assert.equal(loaded.catalog!.api.overrides.get('gone'), false);
  });
});

describe('RuleManager', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-manager-'));
    fs.mkdirSync(path.join(dir, 'rules'));
    fs.writeFileSync(path.join(dir, 'rules', 'a.yaml'), FILE_RULES);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('joins reload requests made before the reload starts, and queues one made after', async () => {
    const f = await createFixture(dir);
    const first = f.manager.reload('manual');
    const second = f.manager.reload('watch');
    assert.equal(first, second);
    await first;
    assert.equal(f.applied.length, 1);
    const third = await f.manager.reload('manual');
    assert.equal(third.ok, true);
    assert.equal(f.applied.length, 2);
    assert.ok(f.applied[1].version > f.applied[0].version);
  });

  it('runs reloads and changes one at a time, every change kept', async () => {
    const f = await createFixture(dir);
    await Promise.all([
      f.manager.create(apiRule('one')),
      f.manager.reload('manual'),
      f.manager.create(apiRule('two')),
      f.manager.setEnabled('file-rule', false),
      f.manager.reload('manual'),
      f.manager.create(apiRule('three')),
    ]);
    const versions = f.applied.map((s) => s.version);
    assert.deepEqual(versions, [...versions].sort((a, b) => a - b));
    const active = f.manager.catalog.ruleSet;
    assert.deepEqual(active.rules.map((r) => [r.id, r.enabled]), [['file-rule', false], ['one', true], ['two', true], ['three', true]]);
    assert.equal(f.applied[f.applied.length - 1], active);
    const reread = await loadRuleSet(f.config);
    assert.deepEqual(reread.ruleSet!.rules.map((r) => [r.id, r.enabled]), [['file-rule', false], ['one', true], ['two', true], ['three', true]]);
  });

  it('keeps the active catalog and counts the error when a reload fails', async () => {
    const f = await createFixture(dir);
    const before = f.manager.catalog;
    fs.writeFileSync(path.join(dir, 'rules', 'a.yaml'), 'rules:\n  - id: file-rule\n    condition: when { a\n');
    const outcome = await f.manager.reload('manual');
    assert.equal(outcome.ok, false);
    assert.equal(outcome.diagnostics[0].line, 3);
    assert.equal(f.manager.catalog, before);
    assert.equal(f.applied.length, 0);
    assert.deepEqual(f.reloads, { success: 0, error: 1 });
  });

  it('builds API changes on the rule files as last compiled, even while a file is broken', async () => {
    const f = await createFixture(dir);
    fs.writeFileSync(path.join(dir, 'rules', 'a.yaml'), 'rules: [');
    const entry = await f.manager.create(apiRule('api-one'));
    assert.equal(entry.source, 'api');
    assert.deepEqual(f.manager.catalog.ruleSet.rules.map((r) => r.id), ['file-rule', 'api-one']);
  });

  it('skips a watched change of the api file that is its own write, and reloads a hand edit', async () => {
    const f = await createFixture(dir);
    await f.manager.create(apiRule('api-one'));
    const applied = f.applied.length;
    const own = await f.manager.filesChanged(new Set([f.config.apiFile]));
    assert.equal(own.skipped, true);
    assert.equal(f.applied.length, applied);

    fs.appendFileSync(f.config.apiFile, '  - id: by-hand\n    condition: when { p } always { q }\n');
    const edit = await f.manager.filesChanged(new Set([f.config.apiFile]));
    assert.equal(edit.ok, true);
    assert.equal(edit.skipped, false);
    assert.ok(f.manager.catalog.byId.has('by-hand'));
    const other = await f.manager.filesChanged(new Set([path.join(dir, 'rules', 'a.yaml')]));
    assert.equal(other.skipped, false);
  });

  it('answers 500 and changes nothing when the api file cannot be written', async () => {
    const f = await createFixture(dir, undefined, path.join(dir, 'state', 'api.yaml'));
    const before = f.manager.catalog;
    // A file where the api file's folder should be: no write can succeed, root or not.
    fs.writeFileSync(path.join(dir, 'state'), 'not a folder');
    await assert.rejects(f.manager.create(apiRule('api-one')), (err: Error & { code?: string; statusCode?: number }) => {
      assert.equal(err.code, 'ERR_ADMIN_PERSIST_FAILED');
      assert.equal(err.statusCode, 500);
      return true;
    });
    assert.equal(f.manager.catalog, before);
    assert.equal(f.applied.length, 0);
    assert.deepEqual(f.changes, []);
  });

  it('reports each change once with the ETags before and after', async () => {
    const f = await createFixture(dir);
    const created = await f.manager.create(apiRule('api-one'));
    const updated = await f.manager.update('api-one', apiRule('api-one', 'when { x } always { z }'));
    await f.manager.update('api-one', apiRule('api-one', 'when { x } always { z }'));
    await f.manager.setEnabled('api-one', true);
    await f.manager.remove('api-one');
    assert.deepEqual(f.changes.map((c) => [c.action, c.previousEtag, c.etag]), [
      ['rule_created', null, created.etag],
      ['rule_updated', created.etag, updated.etag],
      ['rule_deleted', updated.etag, null],
    ]);
  });

  it('answers the request even when reporting the change throws', async () => {
    const f = await createFixture(dir, () => {
      throw new Error('sink gone');
    });
    const entry = await f.manager.create(apiRule('api-one'));
    assert.equal(entry.rule.id, 'api-one');
    assert.ok(f.manager.catalog.byId.has('api-one'));
  });

  it('answers 503 to changes after close, once the jobs under way are done', async () => {
    const f = await createFixture(dir);
    const pending = f.manager.create(apiRule('api-one'));
    await f.manager.close();
    assert.equal((await pending).rule.id, 'api-one');
    await assert.rejects(f.manager.create(apiRule('api-two')), (err: Error & { code?: string; statusCode?: number }) => {
      assert.equal(err.code, 'ERR_ADMIN_SHUTTING_DOWN');
      assert.equal(err.statusCode, 503);
      return true;
    });
  });
});
