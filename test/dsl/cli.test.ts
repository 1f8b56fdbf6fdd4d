/** `betrace check` and `betrace test`, run through their command functions with captured output. */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { checkCommand } from '../../processor/cli/check';
import { UsageError } from '../../processor/cli/io';
import { runCli } from '../../processor/cli/main';
import { testCommand } from '../../processor/cli/test-examples';
import { REPO_ROOT } from '../helpers/paths';

import type { CliIo } from '../../processor/cli/io';

interface Captured {
  readonly io: CliIo;
  out(): string;
  err(): string;
}

function capture(cwd: string): Captured {
  const sink = (): Writable & { text: string } => {
    const w = new Writable({
      write(chunk, _enc, done) {
        w.text += String(chunk);
        done();
      },
    }) as Writable & { text: string };
    w.text = '';
    return w;
  };
  const stdout = sink();
  const stderr = sink();
  return { io: { stdout, stderr, cwd, env: {} }, out: () => stdout.text, err: () => stderr.text };
}

const GOOD = `rules:
  - id: fraud
    condition: when { pay.where(amount > 1000) } always { fraud_check }
    example_violation: { trace: [{ span: pay, attributes: { amount: 5000 } }] }
    example_pass: { trace: [{ span: pay, attributes: { amount: 5000 } }, { span: fraud_check }] }
  - id: quiet
    condition: when { a } never { b }
`;

const WRONG_EXAMPLES = `rules:
  - id: never-fires
    condition: when { pay } always { fraud_check }
    example_violation: { trace: [{ span: pay }, { span: fraud_check }] }
  - id: always-fires
    condition: when { pay } never { refund }
    example_pass: { trace: [{ span: pay }, { span: refund }] }
  - id: fine
    condition: when { pay } never { refund }
    example_violation: { trace: [{ span: pay }, { span: refund }] }
`;

const BROKEN = `rules:
  - id: broken
    condition: when { pay always { x }
  - id: warned
    condition: when { q.where(depth > max) } always { z }
`;

describe('betrace check and test', () => {
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-cli-'));
    fs.writeFileSync(path.join(dir, 'good.yaml'), GOOD);
    fs.writeFileSync(path.join(dir, 'wrong.yaml'), WRONG_EXAMPLES);
    fs.writeFileSync(path.join(dir, 'broken.yaml'), BROKEN);
    fs.writeFileSync(path.join(dir, 'warn.yaml'), 'rules:\n  - id: w\n    condition: when { q.where(d > max) } always { z }\n');
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('check exits 0 and prints a summary when every rule compiles', async () => {
    const c = capture(dir);
    assert.equal(await checkCommand(['good.yaml'], c.io), 0);
    assert.equal(c.out(), '2 rules compiled in 1 file; 0 errors, 0 warnings\n');
  });

  it('check prints every diagnostic with its source line and exits 1 on errors', async () => {
    const c = capture(dir);
    assert.equal(await checkCommand(['broken.yaml', 'good.yaml'], c.io), 1);
    const out = c.out();
    assert.match(out, /^broken\.yaml:3:27: error ERR_DSL_UNEXPECTED_TOKEN: unexpected "always"/m);
    assert.match(out, /^ {2}3 \| {5}condition: when \{ pay always \{ x \}$/m);
    assert.match(out, /^broken\.yaml:5:39: warning ERR_DSL_BARE_WORD_ORDERING/m);
    assert.match(out, /3 rules compiled in 2 files; 1 error, 1 warning\n$/);
  });

  it('check exits 0 when there are warnings only', async () => {
    const c = capture(dir);
    assert.equal(await checkCommand(['warn.yaml'], c.io), 0);
    assert.match(c.out(), /0 errors, 1 warning/);
  });

  it('check exits 2 for files it cannot read or patterns without matches', async () => {
    const missing = capture(dir);
    assert.equal(await checkCommand(['missing.yaml'], missing.io), 2);
    assert.match(missing.out(), /ERR_DSL_FILE_UNREADABLE: cannot read rule file: no such file/);
    const none = capture(dir);
    assert.equal(await checkCommand(['nothing/*.yaml'], none.io), 2);
    assert.match(none.out(), /ERR_DSL_NO_MATCH/);
  });

  it('check exits 2 for a file that is not UTF-8, naming the line of the first bad byte', async () => {
    const bytes = Buffer.concat([Buffer.from('rules:\n  - id: x\n    name: caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    fs.writeFileSync(path.join(dir, 'latin1.yaml'), bytes);
    const c = capture(dir);
    assert.equal(await checkCommand(['latin1.yaml'], c.io), 2);
    assert.match(c.out(), /^latin1\.yaml:3:1: error ERR_DSL_FILE_UNREADABLE: cannot read rule file: it is not UTF-8 text/m);
  });

  it('check and test reject a call without files and unknown options', async () => {
    await assert.rejects(checkCommand([], capture(dir).io), UsageError);
    await assert.rejects(testCommand(['--bogus', 'good.yaml'], capture(dir).io), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /unknown option "--bogus"/);
      return true;
    });
    const c = capture(dir);
    assert.equal(await runCli(['check'], c.io), 2);
    assert.match(c.err(), /check needs at least one rule file/);
  });

  it('test prints nothing per passing rule and a summary, exit 0', async () => {
    const c = capture(dir);
    assert.equal(await testCommand(['good.yaml'], c.io), 0);
    assert.equal(c.out(), '2 rules: 1 passed, 0 failed, 1 without examples\n');
  });

  it('test prints a FAIL line for each misbehaving rule and exits 1', async () => {
    const c = capture(dir);
    assert.equal(await testCommand(['wrong.yaml'], c.io), 1);
    assert.equal(c.out(), [
      'FAIL never-fires: example_violation did not violate (outcome: pass)',
      'FAIL always-fires: example_pass violated: forbidden "refund" found',
      '3 rules: 1 passed, 2 failed, 0 without examples',
      '',
    ].join('\n'));
  });

  it('test --verbose also reports passing and untested rules', async () => {
    const c = capture(dir);
    assert.equal(await testCommand(['--verbose', 'good.yaml'], c.io), 0);
    assert.match(c.out(), /^ok {3}fraud: example_violation violated \(required "fraud_check" not found\); example_pass did not violate \(outcome: pass\)$/m);
    assert.match(c.out(), /^SKIP quiet: no examples$/m);
  });

  it('test exits 1 when a rule does not compile, after running the others', async () => {
    const c = capture(dir);
    assert.equal(await testCommand(['broken.yaml', 'good.yaml'], c.io), 1);
    assert.match(c.out(), /ERR_DSL_UNEXPECTED_TOKEN/);
    assert.match(c.out(), /3 rules: 1 passed, 0 failed, 2 without examples, 1 error in rule files\n$/);
  });

  it('test passes on the bundled rules', async () => {
    const c = capture(REPO_ROOT);
    assert.equal(await testCommand(['rules/*.yaml'], c.io), 0, c.out());
    assert.match(c.out(), / 0 failed, 0 without examples\n$/);
  });
});
