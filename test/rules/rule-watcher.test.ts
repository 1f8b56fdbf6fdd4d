/**
 * The rule-file watcher on a real temp folder, and the SIGHUP handler on an
 * emitter standing in for the process.
 */

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { createSilentLogger } from '../../processor/log';
import { createRuleWatcher } from '../../processor/rules/rule-watcher';
import { createSighupHandler, installSighupReload } from '../../processor/rules/sighup-reload';
import { waitUntil } from '../admin/admin-harness';

import type { ReloadOutcome } from '../../processor/rules/rule-manager';
import type { RuleWatcher } from '../../processor/rules/rule-watcher';

describe('createRuleWatcher', () => {
  let dir: string;
  let watcher: RuleWatcher | null = null;
  let batches: Array<Set<string>>;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-watch-'));
    fs.mkdirSync(path.join(dir, 'rules'));
    fs.mkdirSync(path.join(dir, 'single'));
    fs.writeFileSync(path.join(dir, 'rules', 'a.yaml'), 'rules: []\n');
    fs.writeFileSync(path.join(dir, 'single', 'one.yaml'), 'rules: []\n');
    fs.writeFileSync(path.join(dir, 'single', 'other.yaml'), 'rules: []\n');
    batches = [];
  });
  afterEach(() => {
    watcher?.close();
    watcher = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function start(patterns: string[], apiFile = ''): RuleWatcher {
    watcher = createRuleWatcher({
      patterns,
      apiFile,
      debounceMs: 30,
      logger: createSilentLogger(),
      onChange: (paths) => batches.push(new Set(paths)),
    });
    return watcher;
  }

  it('reports a change of a file that a glob matches, and a new file in its folder', async () => {
    start([path.join(dir, 'rules', '*.yaml')]);
    fs.writeFileSync(path.join(dir, 'rules', 'a.yaml'), 'rules: [] # edited\n');
    await waitUntil(() => batches.length > 0, 'the first change');
    assert.ok(batches[0].has(path.join(dir, 'rules', 'a.yaml')));
    fs.writeFileSync(path.join(dir, 'rules', 'new.yaml'), 'rules: []\n');
    await waitUntil(() => batches.some((b) => b.has(path.join(dir, 'rules', 'new.yaml'))), 'the new file');
  });

  it('reports a Kubernetes ConfigMap update, which swaps the ..data link and renames no rule file', async () => {
    const mount = path.join(dir, 'configmap');
    fs.mkdirSync(path.join(mount, '..v1'), { recursive: true });
    fs.writeFileSync(path.join(mount, '..v1', 'rules.yaml'), 'rules: []\n');
    fs.symlinkSync('..v1', path.join(mount, '..data'));
    fs.symlinkSync(path.join('..data', 'rules.yaml'), path.join(mount, 'rules.yaml'));
    start([path.join(mount, '*.yaml')]);
    fs.mkdirSync(path.join(mount, '..v2'));
    fs.writeFileSync(path.join(mount, '..v2', 'rules.yaml'), 'rules: [] # new version\n');
    fs.symlinkSync('..v2', path.join(mount, '..data_tmp'));
    fs.renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
    await waitUntil(() => batches.length > 0, 'the ConfigMap update');
    assert.ok(batches[0].has(mount), 'the whole mounted folder counts as changed');
  });

  it('watches the folders under a ** pattern', async () => {
    fs.mkdirSync(path.join(dir, 'rules', 'team', 'payments'), { recursive: true });
    start([path.join(dir, 'rules', '**', '*.yaml')]);
    const nested = path.join(dir, 'rules', 'team', 'payments', 'p.yaml');
    fs.writeFileSync(nested, 'rules: []\n');
    await waitUntil(() => batches.some((b) => b.has(nested)), 'the nested file');
  });

  it('reports a file replaced by rename, as editors and atomic writers save', async () => {
    start([path.join(dir, 'single', 'one.yaml')]);
    const temp = path.join(dir, 'single', '.one.yaml.tmp');
    fs.writeFileSync(temp, 'rules: [] # replaced\n');
    fs.renameSync(temp, path.join(dir, 'single', 'one.yaml'));
    await waitUntil(() => batches.some((b) => b.has(path.join(dir, 'single', 'one.yaml'))), 'the replaced file');
  });

  it('debounces a burst of writes into one report, and ignores other files of a plain path and temporary names', async () => {
    start([path.join(dir, 'single', 'one.yaml'), path.join(dir, 'rules', '*.yaml')]);
    fs.writeFileSync(path.join(dir, 'single', 'other.yaml'), 'rules: [] # not watched\n');
    fs.writeFileSync(path.join(dir, 'rules', '.a.yaml.swp'), 'x');
    fs.writeFileSync(path.join(dir, 'rules', 'a.yaml~'), 'x');
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(dir, 'single', 'one.yaml'), `rules: [] # ${i}\n`);
    await waitUntil(() => batches.length > 0, 'the burst');
    const all = new Set(batches.flatMap((b) => [...b]));
    assert.deepEqual([...all], [path.join(dir, 'single', 'one.yaml')]);
  });

  it('watches the folder of the api file for that file', async () => {
    const apiFile = path.join(dir, 'single', 'api.yaml');
    start([], apiFile);
    fs.writeFileSync(apiFile, 'rules: []\n');
    await waitUntil(() => batches.some((b) => b.has(apiFile)), 'the api file');
  });

  it('skips a folder that does not exist and watches the rest', () => {
    const w = start([path.join(dir, 'missing', '*.yaml'), path.join(dir, 'rules', '*.yaml')]);
    assert.deepEqual(w.folders, [path.join(dir, 'rules')]);
  });

  it('reports nothing after close', async () => {
    start([path.join(dir, 'rules', '*.yaml')]).close();
    fs.writeFileSync(path.join(dir, 'rules', 'a.yaml'), 'rules: [] # after close\n');
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual(batches, []);
  });
});

describe('SIGHUP reload', () => {
  const outcome: ReloadOutcome = { ok: true, skipped: false, version: 1, diagnostics: [] };

  it('starts a reload with the reason sighup', () => {
    const reasons: string[] = [];
    const handler = createSighupHandler({ reload: async (reason) => { reasons.push(reason); return outcome; } }, createSilentLogger());
    handler();
    handler();
    assert.deepEqual(reasons, ['sighup', 'sighup']);
  });

  it('listens on the emitter until removed', () => {
    const signals = new EventEmitter();
    let calls = 0;
    const remove = installSighupReload({ reload: async () => { calls++; return outcome; } }, createSilentLogger(), signals);
    signals.emit('SIGHUP');
    remove();
    signals.emit('SIGHUP');
    assert.equal(calls, 1);
    assert.equal(signals.listenerCount('SIGHUP'), 0);
  });

  it('survives a reload that rejects', async () => {
    const handler = createSighupHandler({ reload: async () => { throw new Error('disk gone'); } }, createSilentLogger());
    handler();
    await new Promise((resolve) => setImmediate(resolve));
  });
});
