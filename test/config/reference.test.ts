import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { createDefaultConfig } from '../../config/defaults';
import { parseDuration } from '../../config/duration';
import { loadConfigFile } from '../../config/load';
import { listSchemaKeys } from '../../config/schema';
import { REPO_ROOT, testPath } from '../helpers/paths';

import type { LeafKind } from '../../config/schema';
import type { Config } from '../../config/types';

const MIB = 1024 * 1024;

interface ReferenceRow {
  readonly key: string;
  readonly defaultText: string;
  readonly meaning: string;
}

/** The rows of the "## Keys" table of config/reference.md. */
function readReferenceRows(): ReferenceRow[] {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'config', 'reference.md'), 'utf8');
  const section = text.split('\n## ').find((s) => s.startsWith('Keys\n'));
  assert.ok(section !== undefined, 'config/reference.md has a "## Keys" section');
  const rows: ReferenceRow[] = [];
  for (const line of section.split('\n')) {
    const match = /^\| `([a-z_.]+)` \| `([^`]*)` \| (.+) \|$/.exec(line);
    if (match !== null) rows.push({ key: match[1] as string, defaultText: match[2] as string, meaning: match[3] as string });
  }
  return rows;
}

/** Reads a default as the table writes it, with the loader's own units. */
function fromReferenceText(text: string, kind: LeafKind): unknown {
  switch (kind.type) {
    case 'duration':
      return parseDuration(text);
    case 'mib':
      return Math.max(1, Math.floor(Number(text) * MIB));
    case 'integer':
      return Number(text);
    case 'boolean':
      assert.ok(text === 'true' || text === 'false', `"${text}" is a boolean`);
      return text === 'true';
    case 'path-list':
    case 'headers':
      return JSON.parse(text);
    default:
      return text === '""' ? '' : text;
  }
}

function valueAt(config: Config, fieldPath: string): unknown {
  return fieldPath.split('.').reduce<unknown>((obj, field) => (obj as Record<string, unknown>)[field], config);
}

describe('config/reference.md', () => {
  const rows = readReferenceRows();
  const keys = listSchemaKeys();

  it('documents every key of the schema once, in schema order, and nothing else', () => {
    assert.deepEqual(rows.map((r) => r.key), keys.map((k) => k.path));
  });

  for (const key of keys) {
    it(`gives the default of ${key.path} as createDefaultConfig() has it`, () => {
      const row = rows.find((r) => r.key === key.path);
      assert.ok(row !== undefined, `${key.path} is documented`);
      assert.deepEqual(fromReferenceText(row.defaultText, key.value), valueAt(createDefaultConfig(), key.fieldPath));
      assert.ok(row.meaning.trim().length > 10, `${key.path} has a meaning`);
    });
  }

  it('names every environment variable the loader reads', () => {
    const text = fs.readFileSync(path.join(REPO_ROOT, 'config', 'reference.md'), 'utf8');
    for (const name of ['BETRACE_EXPORTER_OTLP_ENDPOINT', 'BETRACE_SIGNING_KEY', 'BETRACE_ADMIN_TOKEN']) {
      assert.ok(text.includes(`| \`${name}\` |`), `${name} is in the environment table`);
    }
  });
});

describe('the example of PRODUCT.md section 8', () => {
  it('is accepted, and its default values are the defaults', () => {
    const file = testPath('config', 'testdata', 'product_example.yaml');
    const dir = path.dirname(file);
    const config = loadConfigFile(file, {});
    const defaults = createDefaultConfig();
    // Only the keys the example marks as examples differ from the defaults.
    assert.deepEqual(config, {
      ...defaults,
      source: file,
      rules: { ...defaults.rules, files: [path.join(dir, 'rules/*.yaml')], apiFile: path.join(dir, 'rules/api.yaml') },
      exporters: { ...defaults.exporters, otlp: { ...defaults.exporters.otlp, endpoint: 'tempo:4317' } },
      signing: { ...defaults.signing, keyFile: path.join(dir, 'keys.yaml') },
      admin: { ...defaults.admin, tokenFile: path.join(dir, 'admin-token') },
    });
  });
});

describe('valid_full.yaml', () => {
  // key_provider has one allowed value; insecure: true cannot go with the TLS files the
  // fixture sets (both are covered by other tests).
  const SINGLE_CHOICE = new Set(['signing.key_provider', 'exporters.otlp.tls.insecure']);

  it('sets every key to something other than its default', () => {
    const config = loadConfigFile(testPath('config', 'testdata', 'valid_full.yaml'), {});
    const defaults = createDefaultConfig();
    for (const key of listSchemaKeys()) {
      if (SINGLE_CHOICE.has(key.path)) continue;
      assert.notDeepEqual(valueAt(config, key.fieldPath), valueAt(defaults, key.fieldPath), key.path);
    }
  });
});
