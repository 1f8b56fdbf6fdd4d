import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { ConfigError } from '../../config/config-error';
import { CONFIG_ERRORS, formatConfigDiagnostic } from '../../config/errors';
import { ERROR_CODES } from '../../processor/errors';
import { REPO_ROOT } from '../helpers/paths';

const CONFIG_DIR = path.join(REPO_ROOT, 'config');

function codesUsedIn(file: string): string[] {
  return fs.readFileSync(path.join(CONFIG_DIR, file), 'utf8').match(/ERR_CONFIG_[A-Z_]+/g) ?? [];
}

describe('CONFIG_ERRORS', () => {
  const sources = fs.readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.ts') && f !== 'errors.ts');

  it('declares every code the config sources use', () => {
    for (const file of sources) {
      for (const code of codesUsedIn(file)) {
        assert.ok(Object.hasOwn(CONFIG_ERRORS, code), `${code} (used in config/${file}) is declared`);
      }
    }
  });

  it('declares no code that nothing uses', () => {
    const used = new Set(sources.flatMap(codesUsedIn));
    for (const code of Object.keys(CONFIG_ERRORS)) {
      assert.ok(used.has(code), `${code} is used`);
    }
  });

  it('is part of the product-wide registry', () => {
    for (const [code, meaning] of Object.entries(CONFIG_ERRORS)) {
      assert.equal(ERROR_CODES[code], meaning);
    }
  });
});

describe('formatConfigDiagnostic', () => {
  it('writes file:line:column, then the code, the path and the message', () => {
    const line = formatConfigDiagnostic({
      code: 'ERR_CONFIG_UNKNOWN_KEY', message: 'unknown key "x"', path: 'buffer.x', file: 'a.yaml', line: 3, column: 5,
    });
    assert.equal(line, 'a.yaml:3:5: ERR_CONFIG_UNKNOWN_KEY: buffer.x: unknown key "x"');
  });

  it('leaves out the place and the path when there are none', () => {
    const line = formatConfigDiagnostic({
      code: 'ERR_CONFIG_READ_FAILED', message: 'cannot read', path: '', file: 'a.yaml', line: 0, column: 0,
    });
    assert.equal(line, 'a.yaml: ERR_CONFIG_READ_FAILED: cannot read');
  });
});

describe('ConfigError', () => {
  it('refuses to be built without a diagnostic', () => {
    assert.throws(() => new ConfigError([]), TypeError);
  });
});
