import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import pino from 'pino';

import { SIGNING_ERRORS } from '../../processor/signing/errors';
import { createKeyProviderFromConfig, describeSigning } from '../../processor/signing/key-provider-from-config';
import {
  createLocalKeyProvider,
  generateKeyRing,
  keyRingFromEnv,
  loadKeyRing,
  parseKeyRing,
  rotateKeyRing,
  writeKeyRing,
} from '../../processor/signing/local-key-ring';
import { makeTempDir, removeTempDir, testKey } from './fixtures';

import type { SigningConfig } from '../../config/types';
import type { KeyRing } from '../../processor/signing/key-provider';

const POSIX = process.platform !== 'win32';
const SECRET_A = Buffer.alloc(32, 0xa1).toString('base64');
const SECRET_SHORT = Buffer.alloc(16, 0xa1).toString('base64');

let dir: string;
before(() => {
  dir = makeTempDir();
});
after(() => removeTempDir(dir));

function modeOf(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

function ringText(keysBlock: string, active = 'key-a', version = '1'): string {
  return `version: ${version}\nactive_key: ${active}\nkeys:\n${keysBlock}`;
}

const KEY_A_BLOCK = `  - id: key-a\n    created_at: "2025-01-02T03:04:05Z"\n    secret: "${SECRET_A}"\n`;

describe('generateKeyRing, writeKeyRing and loadKeyRing', () => {
  it('writes a generated ring that loads back with the same keys', () => {
    const file = path.join(dir, 'roundtrip.yaml');
    const ring = generateKeyRing(new Date('2025-03-01T09:30:00Z'));
    writeKeyRing(file, ring);
    const loaded = loadKeyRing(file);
    assert.equal(loaded.activeKeyId, ring.activeKeyId);
    assert.equal(loaded.keys.length, 1);
    assert.equal(loaded.keys[0].id, ring.keys[0].id);
    assert.ok(loaded.keys[0].secret.equals(ring.keys[0].secret));
    assert.equal(loaded.keys[0].createdAt, '2025-03-01T09:30:00.000Z');
    assert.match(ring.activeKeyId, /^key-20250301-[0-9a-f]{8}$/);
    assert.equal(ring.keys[0].secret.length, 32);
  });

  it('generates a different secret and id each time', () => {
    const a = generateKeyRing();
    const b = generateKeyRing();
    assert.notEqual(a.activeKeyId, b.activeKeyId);
    assert.equal(a.keys[0].secret.equals(b.keys[0].secret), false);
  });

  it('writes the file with mode 0600, also over a file that was world-readable', { skip: !POSIX }, () => {
    const file = path.join(dir, 'mode.yaml');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    writeKeyRing(file, generateKeyRing());
    assert.equal(modeOf(file), 0o600);
  });

  it('leaves no temporary file behind', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'clean-'));
    writeKeyRing(path.join(sub, 'keys.yaml'), generateKeyRing());
    writeKeyRing(path.join(sub, 'keys.yaml'), generateKeyRing());
    assert.deepEqual(fs.readdirSync(sub), ['keys.yaml']);
  });

  it('refuses to replace an existing file when overwrite is false', () => {
    const file = path.join(dir, 'exists.yaml');
    fs.writeFileSync(file, 'keep me');
    assert.throws(() => writeKeyRing(file, generateKeyRing(), { overwrite: false }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_SIGNING_KEY_FILE_EXISTS');
      assert.match(err.message, /exists\.yaml already exists/);
      return true;
    });
    assert.equal(fs.readFileSync(file, 'utf8'), 'keep me');
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')).length, 0);
  });

  it('reports a folder that does not exist with the file name', () => {
    const file = path.join(dir, 'no-such-folder', 'keys.yaml');
    assert.throws(() => writeKeyRing(file, generateKeyRing()), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_SIGNING_KEY_FILE_WRITE');
      assert.ok(err.message.includes(file));
      return true;
    });
  });

  it('reports a missing key ring with the file name', () => {
    const file = path.join(dir, 'missing.yaml');
    assert.throws(() => loadKeyRing(file), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_SIGNING_KEY_FILE_READ');
      assert.ok(err.message.includes(file));
      assert.match(err.message, /ENOENT/);
      return true;
    });
  });

  it('refuses to write a ring whose active key is not in it', () => {
    const ring: KeyRing = { version: 1, activeKeyId: 'nope', keys: [testKey('key-a', 1)] };
    assert.throws(() => writeKeyRing(path.join(dir, 'bad-ring.yaml'), ring), { code: 'ERR_SIGNING_UNKNOWN_ACTIVE_KEY' });
    assert.equal(fs.existsSync(path.join(dir, 'bad-ring.yaml')), false);
  });
});

describe('parseKeyRing', () => {
  it('reads a hand-written ring whose keys have no created_at', () => {
    const ring = parseKeyRing(ringText(`  - id: key-a\n    secret: "${SECRET_A}"\n`), 'keys.yaml');
    assert.equal(ring.activeKeyId, 'key-a');
    assert.equal(ring.keys[0].createdAt, '');
    assert.ok(ring.keys[0].secret.equals(Buffer.alloc(32, 0xa1)));
  });

  const cases: Array<{ name: string; text: string; code: string; where: string; message: RegExp }> = [
    { name: 'YAML syntax', text: 'version: 1\nkeys: [a, b\n', code: 'ERR_SIGNING_KEY_RING_SYNTAX', where: 'keys.yaml:', message: /keys\.yaml:\d+:\d+: / },
    { name: 'a repeated key', text: `version: 1\nversion: 1\nactive_key: key-a\nkeys:\n${KEY_A_BLOCK}`, code: 'ERR_SIGNING_KEY_RING_SYNTAX', where: 'keys.yaml:2:', message: /unique/ },
    { name: 'a document that is not a mapping', text: '- a\n- b\n', code: 'ERR_SIGNING_KEY_RING_FORMAT', where: 'keys.yaml:1:', message: /must be a mapping/ },
    { name: 'an unknown key', text: `${ringText(KEY_A_BLOCK)}colour: blue\n`, code: 'ERR_SIGNING_KEY_RING_FORMAT', where: 'keys.yaml:7:1', message: /unknown key "colour"/ },
    { name: 'an unknown key field', text: ringText(`${KEY_A_BLOCK}    note: x\n`), code: 'ERR_SIGNING_KEY_RING_FORMAT', where: 'keys.yaml:7:5', message: /unknown key "keys\[0\]\.note"/ },
    { name: 'an unsupported version', text: ringText(KEY_A_BLOCK, 'key-a', '2'), code: 'ERR_SIGNING_KEY_RING_VERSION', where: 'keys.yaml:1:10', message: /version 2 is not supported/ },
    { name: 'no version', text: `active_key: key-a\nkeys:\n${KEY_A_BLOCK}`, code: 'ERR_SIGNING_KEY_RING_FORMAT', where: 'keys.yaml:1:1', message: /version is missing/ },
    { name: 'an empty key list', text: 'version: 1\nactive_key: key-a\nkeys: []\n', code: 'ERR_SIGNING_KEY_RING_FORMAT', where: 'keys.yaml:3:7', message: /at least one key/ },
    { name: 'a secret that is not base64', text: ringText('  - id: key-a\n    secret: "not base64!"\n'), code: 'ERR_SIGNING_BAD_SECRET', where: 'keys.yaml:5:13', message: /keys\[0\]\.secret is not base64/ },
    { name: 'a short secret', text: ringText(`  - id: key-a\n    secret: "${SECRET_SHORT}"\n`), code: 'ERR_SIGNING_KEY_TOO_SHORT', where: 'keys.yaml:5:13', message: /has 16 bytes; at least 32/ },
    { name: 'a missing secret', text: ringText('  - id: key-a\n'), code: 'ERR_SIGNING_KEY_RING_FORMAT', where: 'keys.yaml:4:5', message: /keys\[0\]\.secret is missing/ },
    { name: 'an empty secret', text: ringText('  - id: key-a\n    secret:\n'), code: 'ERR_SIGNING_KEY_RING_FORMAT', where: 'keys.yaml:5:12', message: /keys\[0\]\.secret must be a string, not empty$/ },
    { name: 'a numeric id', text: ringText(`  - id: 2025\n    secret: "${SECRET_A}"\n`, '2025'), code: 'ERR_SIGNING_KEY_RING_FORMAT', where: 'keys.yaml:4:9', message: /keys\[0\]\.id must be a string, not 2025 \(quote it\)/ },
    { name: 'an id with a space', text: ringText(`  - id: "key a"\n    secret: "${SECRET_A}"\n`), code: 'ERR_SIGNING_BAD_KEY_ID', where: 'keys.yaml:4:9', message: /key id "key a" must be 1 to 64/ },
    { name: 'a repeated id', text: ringText(`${KEY_A_BLOCK}${KEY_A_BLOCK}`), code: 'ERR_SIGNING_DUPLICATE_KEY_ID', where: 'keys.yaml:7:5', message: /key id "key-a" appears twice/ },
    { name: 'an active key not in the list', text: ringText(KEY_A_BLOCK, 'key-b'), code: 'ERR_SIGNING_UNKNOWN_ACTIVE_KEY', where: 'keys.yaml:2:13', message: /active_key "key-b" is not the id/ },
    { name: 'a bad created_at', text: ringText(`  - id: key-a\n    created_at: yesterday\n    secret: "${SECRET_A}"\n`), code: 'ERR_SIGNING_KEY_RING_FORMAT', where: 'keys.yaml:5:17', message: /created_at must be an ISO 8601 time/ },
  ];
  for (const c of cases) {
    it(`reports ${c.name} with its code, file and line`, () => {
      assert.throws(() => parseKeyRing(c.text, 'keys.yaml'), (err: Error & { code?: string }) => {
        assert.equal(err.code, c.code);
        assert.ok(err.message.startsWith(c.where), `${err.message} starts with ${c.where}`);
        assert.match(err.message, c.message);
        return true;
      });
    });
  }

  it('declares every code it reports', () => {
    for (const c of cases) assert.ok(Object.hasOwn(SIGNING_ERRORS, c.code), c.code);
  });
});

describe('keyRingFromEnv', () => {
  const idOf = (bytes: Buffer): string => `env-${createHash('sha256').update(bytes).digest('hex').slice(0, 8)}`;

  it('reads hex of 32 bytes and derives the key id from the bytes', () => {
    const bytes = Buffer.alloc(32, 0x5c);
    const ring = keyRingFromEnv(bytes.toString('hex'));
    assert.ok(ring.keys[0].secret.equals(bytes));
    assert.equal(ring.activeKeyId, idOf(bytes));
  });

  it('reads base64 of 32 bytes, with white space around it', () => {
    const bytes = Buffer.alloc(40, 0x3e);
    const ring = keyRingFromEnv(`  ${bytes.toString('base64')}\n`);
    assert.ok(ring.keys[0].secret.equals(bytes));
    assert.equal(ring.activeKeyId, idOf(bytes));
  });

  it('uses a passphrase of 32 characters as its UTF-8 bytes', () => {
    const phrase = 'correct horse battery staple, twice';
    const ring = keyRingFromEnv(phrase);
    assert.ok(ring.keys[0].secret.equals(Buffer.from(phrase, 'utf8')));
  });

  it('refuses short values without repeating them', () => {
    for (const value of ['short', 'ab'.repeat(31), Buffer.alloc(16).toString('base64')]) {
      assert.throws(() => keyRingFromEnv(value), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_SIGNING_KEY_TOO_SHORT');
        assert.match(err.message, /BETRACE_SIGNING_KEY/);
        assert.equal(err.message.includes(value), false);
        return true;
      });
    }
  });
});

describe('rotateKeyRing', () => {
  it('adds a new active key and keeps the old ones', () => {
    const first = generateKeyRing();
    const second = rotateKeyRing(first);
    const third = rotateKeyRing(second);
    assert.deepEqual(third.keys.map((k) => k.id).slice(0, 2), second.keys.map((k) => k.id));
    assert.equal(third.keys.length, 3);
    assert.equal(third.activeKeyId, third.keys[2].id);
    assert.equal(new Set(third.keys.map((k) => k.id)).size, 3);
    assert.equal(first.keys.length, 1);
  });
});

describe('createLocalKeyProvider', () => {
  it('hands out the active key and older keys by id, and describes itself without secrets', () => {
    const ring: KeyRing = { version: 1, activeKeyId: 'key-b', keys: [testKey('key-a', 1), testKey('key-b', 2)] };
    const provider = createLocalKeyProvider(ring, 'keys.yaml');
    assert.equal(provider.activeKey().id, 'key-b');
    assert.equal(provider.keyById('key-a')?.id, 'key-a');
    assert.equal(provider.keyById('key-c'), undefined);
    assert.equal(provider.describe(), 'keys.yaml: 2 key(s), active key key-b');
    for (const key of ring.keys) assert.equal(provider.describe().includes(key.secret.toString('base64')), false);
  });

  it('refuses a ring without its active key', () => {
    const ring: KeyRing = { version: 1, activeKeyId: 'key-x', keys: [testKey('key-a', 1)] };
    assert.throws(() => createLocalKeyProvider(ring), { code: 'ERR_SIGNING_UNKNOWN_ACTIVE_KEY' });
  });
});

describe('createKeyProviderFromConfig', () => {
  function captureLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = pino({ level: 'info' }, stream);
    const lines = (): Array<Record<string, unknown>> =>
      chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    return { logger, lines };
  }

  const config = (keyFile: string, keyFromEnv: string): SigningConfig => ({ keyProvider: 'local', keyFile, keyFromEnv });

  it('answers null without a key and logs once that spans are unsigned', () => {
    const { logger, lines } = captureLogger();
    assert.equal(createKeyProviderFromConfig(config('', ''), logger), null);
    const logged = lines();
    assert.equal(logged.length, 1);
    assert.equal(logged[0].level, 40);
    assert.match(String(logged[0].msg), /unsigned/);
    assert.match(describeSigning(null), /unsigned/);
  });

  it('prefers BETRACE_SIGNING_KEY over the key file', () => {
    const { logger, lines } = captureLogger();
    const provider = createKeyProviderFromConfig(config(path.join(dir, 'absent.yaml'), 'ab'.repeat(32)), logger);
    assert.ok(provider !== null);
    assert.match(provider.activeKey().id, /^env-[0-9a-f]{8}$/);
    assert.equal(lines().length, 1);
    assert.equal(lines()[0].ignoredKeyFile, path.join(dir, 'absent.yaml'));
  });

  it('loads the key file and warns when other users can read it', { skip: !POSIX }, () => {
    const file = path.join(dir, 'shared.yaml');
    const ring = generateKeyRing();
    writeKeyRing(file, ring);
    fs.chmodSync(file, 0o644);
    const { logger, lines } = captureLogger();
    const provider = createKeyProviderFromConfig(config(file, ''), logger);
    assert.equal(provider?.activeKey().id, ring.activeKeyId);
    const logged = lines();
    assert.deepEqual(logged.map((l) => l.level), [40, 30]);
    assert.match(String(logged[0].msg), /readable by other users/);
    assert.match(String(logged[1].msg), new RegExp(`active key ${ring.activeKeyId}`));
  });

  it('throws the key file error when the file is broken', () => {
    const file = path.join(dir, 'broken.yaml');
    fs.writeFileSync(file, 'version: 3\n');
    assert.throws(() => createKeyProviderFromConfig(config(file, '')), { code: 'ERR_SIGNING_KEY_RING_VERSION' });
  });
});
