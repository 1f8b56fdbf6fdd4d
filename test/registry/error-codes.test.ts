/**
 * The error-code registry, the codes the sources use, and docs/errors.md
 * agree both ways.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { ERROR_CODES } from '../../processor/errors';
import { REPO_ROOT } from '../helpers/paths';

const SOURCE_DIRS = ['processor', 'dsl', 'config', 'proto'];

function sourceFiles(dir: string, found: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(full, found);
    else if (entry.name.endsWith('.ts')) found.push(full);
  }
  return found;
}

function codesUsedInSources(): Set<string> {
  const used = new Set<string>();
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(path.join(REPO_ROOT, dir))) {
      for (const match of fs.readFileSync(file, 'utf8').matchAll(/'(ERR_[A-Z0-9_]+)'/g)) used.add(match[1]);
    }
  }
  return used;
}

describe('error codes', () => {
  const documented = new Set(
    [...fs.readFileSync(path.join(REPO_ROOT, 'docs', 'errors.md'), 'utf8').matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)]
      .map((m) => m[1]),
  );

  it('are all documented in docs/errors.md, and the page lists no other', () => {
    const registered = Object.keys(ERROR_CODES).sort();
    assert.deepEqual([...documented].sort(), registered,
      'docs/errors.md is out of date: run `node scripts/write-errors-doc.js` after a build');
  });

  it('are registered wherever the sources use one', () => {
    const missing = [...codesUsedInSources()].filter((c) => !(c in ERROR_CODES)).sort();
    assert.deepEqual(missing, []);
  });

  it('follow ERR_<AREA>_<WHAT> and say what they mean', () => {
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^ERR_(DSL|CONFIG|PROTO|RECEIVER|EXPORTER|PROCESSOR|ADMIN|SIGNING|REDIS|FLEET)_[A-Z0-9_]+$/);
      assert.ok(meaning.length > 10, code);
    }
  });
});
