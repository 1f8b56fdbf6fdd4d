/**
 * The admin area's error codes: every code the sources use is declared, the
 * registry has them all, and docs/admin-api.md documents exactly the
 * declared ones.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { ADMIN_ERRORS } from '../../processor/admin/errors';
import { ERROR_CODES } from '../../processor/errors';
import { REPO_ROOT } from '../helpers/paths';

const SOURCE_FOLDERS = ['processor/admin', 'processor/rules', 'processor/violations'];

function sourceFiles(): string[] {
  return SOURCE_FOLDERS.flatMap((folder) =>
    fs.readdirSync(path.join(REPO_ROOT, folder))
      .filter((name) => name.endsWith('.ts') && name !== 'errors.ts')
      .map((name) => path.join(REPO_ROOT, folder, name)));
}

describe('admin error codes', () => {
  it('declares every ERR_ADMIN_ code that the sources use, and uses every declared one', () => {
    const used = new Set<string>();
    for (const file of sourceFiles()) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/'(ERR_ADMIN_[A-Z_]+)'/g)) used.add(m[1]);
    }
    assert.deepEqual([...used].sort(), Object.keys(ADMIN_ERRORS).sort());
  });

  it('puts every code in the registry with its meaning', () => {
    for (const [code, meaning] of Object.entries(ADMIN_ERRORS)) assert.equal(ERROR_CODES[code], meaning, code);
  });

  it('documents exactly the declared codes in docs/admin-api.md', () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'admin-api.md'), 'utf8');
    const table = doc.slice(doc.indexOf('## Error codes'));
    const documented = [...table.matchAll(/^\| `(ERR_ADMIN_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    assert.deepEqual(documented, Object.keys(ADMIN_ERRORS).sort());
  });
});
