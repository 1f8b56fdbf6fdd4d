/**
 * The README's configuration and metrics tables agree with the product:
 * the configuration rows with config/reference.md (itself checked against
 * the defaults), the metric names with what /metrics serves.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { REPO_ROOT } from '../helpers/paths';
import { startHarness } from '../helpers/processor-harness';

import type { Harness } from '../helpers/processor-harness';

const README = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

function between(text: string, marker: string): string {
  const start = text.indexOf(`<!-- ${marker}:start -->`);
  const end = text.indexOf(`<!-- ${marker}:end -->`);
  assert.ok(start >= 0 && end > start, `markers ${marker} in README.md`);
  return text.slice(start, end);
}

function tableRows(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('| `'));
}

describe('the README', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ rules: { 'r.yaml': 'rules:\n  - id: r\n    condition: when { a } always { b }\n' } });
  });
  after(async () => {
    await h.stop();
  });

  it('lists every configuration key with the default of config/reference.md', () => {
    const reference = fs.readFileSync(path.join(REPO_ROOT, 'config', 'reference.md'), 'utf8');
    const referenceRows = tableRows(reference.slice(reference.indexOf('| key | default | meaning |')))
      .filter((l) => /^\| `[a-z_.]+` \| /.test(l) && !l.startsWith('| `BETRACE_'));
    assert.deepEqual(tableRows(between(README, 'config-reference')), referenceRows);
  });

  it('lists exactly the betrace_ metrics that /metrics serves', async () => {
    const text = await (await fetch(`${h.adminUrl}/metrics`)).text();
    const served = [...text.matchAll(/^# TYPE (betrace_\S+) /gm)].map((m) => m[1])
      .filter((n) => !/^betrace_(process|nodejs)_/.test(n) && !n.startsWith('betrace_redis_'))
      .sort();
    const documented = tableRows(between(README, 'metrics-reference'))
      .map((l) => /^\| `([a-z_]+)`/.exec(l)![1])
      .filter((n) => !n.startsWith('betrace_redis_'))
      .sort();
    assert.deepEqual(documented, served);
  });
});
