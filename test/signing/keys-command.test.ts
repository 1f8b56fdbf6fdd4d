import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { UsageError } from '../../processor/cli/io';
import { keysCommand } from '../../processor/cli/keys';
import { runCli } from '../../processor/cli/main';
import { loadKeyRing } from '../../processor/signing/local-key-ring';
import { captureIo, makeTempDir, removeTempDir } from './fixtures';

const POSIX = process.platform !== 'win32';

let dir: string;
before(() => {
  dir = makeTempDir();
});
after(() => removeTempDir(dir));

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const captured = captureIo(dir);
  const code = await keysCommand(args, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe('keys generate', () => {
  it('writes a ring with one active key, mode 0600, and prints its id', async () => {
    const result = await run(['generate', '--out', 'gen.yaml']);
    assert.equal(result.code, 0);
    const ring = loadKeyRing(path.join(dir, 'gen.yaml'));
    assert.equal(result.stdout, `${ring.activeKeyId}\n`);
    assert.equal(ring.keys.length, 1);
    if (POSIX) assert.equal(fs.statSync(path.join(dir, 'gen.yaml')).mode & 0o777, 0o600);
  });

  it('refuses to overwrite an existing file unless --force is given', async () => {
    const file = path.join(dir, 'twice.yaml');
    const first = await run(['generate', `--out=${file}`]);
    const before = fs.readFileSync(file, 'utf8');
    const refused = await run(['generate', '--out', file]);
    assert.equal(refused.code, 2);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /twice\.yaml already exists.*--force/);
    assert.equal(fs.readFileSync(file, 'utf8'), before);

    const forced = await run(['generate', '--out', file, '--force']);
    assert.equal(forced.code, 0);
    assert.notEqual(forced.stdout, first.stdout);
    assert.equal(loadKeyRing(file).activeKeyId, forced.stdout.trim());
  });
});

describe('keys rotate', () => {
  it('makes a new key active, keeps the old ones, and prints the new id', async () => {
    const file = path.join(dir, 'rotate.yaml');
    const generated = await run(['generate', '--out', file]);
    fs.chmodSync(file, 0o640);
    const rotated = await run(['rotate', '--keys', file]);
    assert.equal(rotated.code, 0);
    const ring = loadKeyRing(file);
    assert.equal(rotated.stdout, `${ring.activeKeyId}\n`);
    assert.deepEqual(ring.keys.map((k) => k.id), [generated.stdout.trim(), rotated.stdout.trim()]);
    if (POSIX) assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('exits 2 naming the file when the ring cannot be read', async () => {
    const result = await run(['rotate', '--keys', 'nowhere.yaml']);
    assert.equal(result.code, 2);
    assert.ok(result.stderr.includes(path.join(dir, 'nowhere.yaml')));
  });

  it('exits 2 and leaves the file alone when the ring is malformed', async () => {
    const file = path.join(dir, 'malformed.yaml');
    fs.writeFileSync(file, 'version: 1\nkeys: 3\n');
    const result = await run(['rotate', '--keys', file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /malformed\.yaml:2:7: keys must be a list/);
    assert.equal(fs.readFileSync(file, 'utf8'), 'version: 1\nkeys: 3\n');
  });
});

describe('keys list', () => {
  it('prints each key id with its creation time and marks the active one, no secrets', async () => {
    const file = path.join(dir, 'list.yaml');
    await run(['generate', '--out', file]);
    await run(['rotate', '--keys', file]);
    const ring = loadKeyRing(file);
    const result = await run(['list', '--keys', file]);
    assert.equal(result.code, 0);
    assert.equal(
      result.stdout,
      `${ring.keys[0].id}\t${ring.keys[0].createdAt}\n${ring.keys[1].id}\t${ring.keys[1].createdAt}\tactive\n`,
    );
    for (const key of ring.keys) assert.equal(result.stdout.includes(key.secret.toString('base64')), false);
  });
});

describe('keys usage', () => {
  const bad: Array<[string, string[], RegExp]> = [
    ['no subcommand', [], /needs a subcommand/],
    ['an unknown subcommand', ['shred'], /unknown keys subcommand "shred"/],
    ['generate without --out', ['generate'], /--out FILE is required/],
    ['--out without a file', ['generate', '--out'], /--out needs a file/],
    ['--force on rotate', ['rotate', '--keys', 'k.yaml', '--force'], /unknown option "--force"/],
    ['a stray argument', ['rotate', '--keys', 'k.yaml', 'extra'], /unexpected argument "extra"/],
  ];
  for (const [what, args, message] of bad) {
    it(`rejects ${what} as a usage error`, async () => {
      await assert.rejects(run(args), (err: Error) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  it('exits 2 with the usage through the command line', async () => {
    const captured = captureIo(dir);
    const code = await runCli(['keys', 'shred'], captured.io);
    assert.equal(code, 2);
    assert.match(captured.stderr(), /betrace keys: unknown keys subcommand/);
    assert.match(captured.stderr(), /betrace keys generate --out FILE/);
  });
});
