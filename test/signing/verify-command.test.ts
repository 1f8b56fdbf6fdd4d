import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { UsageError } from '../../processor/cli/io';
import { runCli } from '../../processor/cli/main';
import { verifyCommand } from '../../processor/cli/verify';
import { keyRingFromEnv, writeKeyRing } from '../../processor/signing/local-key-ring';
import { withSignature } from '../../processor/signing/signer';
import {
  captureIo,
  makeTempDir,
  removeTempDir,
  sampleSpan,
  testKey,
  toJsonRequest,
  toJsonSpan,
} from './fixtures';

import type { SignableSpan } from '../../processor/signing/canonical';
import type { KeyRing } from '../../processor/signing/key-provider';

const KEY_A = testKey('key-a', 0xa1);
const KEY_OLD = testKey('key-old', 0x0d);
const RING: KeyRing = { version: 1, activeKeyId: 'key-a', keys: [KEY_OLD, KEY_A] };

let dir: string;
let keysFile: string;
before(() => {
  dir = makeTempDir();
  keysFile = path.join(dir, 'keys.yaml');
  writeKeyRing(keysFile, RING);
});
after(() => removeTempDir(dir));

let fileCount = 0;
function writeFile(text: string): string {
  const file = path.join(dir, `traces-${++fileCount}.json`);
  fs.writeFileSync(file, text);
  return file;
}

function writeRequest(spans: Array<Record<string, unknown>>): string {
  return writeFile(JSON.stringify(toJsonRequest(spans)));
}

function signedJson(span: SignableSpan = sampleSpan(), key = KEY_A): Record<string, unknown> {
  return toJsonSpan(withSignature(span, key));
}

function customerSpan(): Record<string, unknown> {
  return { traceId: sampleSpan().traceId, spanId: '1111111111111111', name: 'payment.charge', startTimeUnixNano: '1' };
}

async function verify(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const captured = captureIo(dir, env);
  const code = await verifyCommand(args, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

/** Sets the value of attribute `key` of the first span in an OTLP/JSON request. */
function tamper(request: Record<string, unknown>, key: string, value: Record<string, unknown>): void {
  const spans = ((request.resourceSpans as any[])[0].scopeSpans[0].spans) as Array<{ attributes: any[] }>;
  const attribute = spans[0].attributes.find((a) => a.key === key);
  attribute.value = value;
}

describe('betrace verify', () => {
  it('exits 0 when every signed span verifies, with a summary and no other line', async () => {
    const evidence = withSignature({ ...sampleSpan(), name: 'compliance.evidence', spanId: '2222222222222222' }, KEY_OLD);
    const file = writeRequest([signedJson(), customerSpan(), toJsonSpan(evidence)]);
    const result = await verify(['--keys', keysFile, file]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, '2 span(s) checked in 1 file(s): 2 valid, 0 bad, 0 unsigned\n');
    assert.equal(result.stderr, '');
  });

  it('reads one request per line, as the Collector file exporter writes them', async () => {
    const line = JSON.stringify(toJsonRequest([signedJson()]));
    const file = writeFile(`${line}\n${line}\n\n${line}\n`);
    const result = await verify([`--keys=${keysFile}`, file]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^3 span\(s\) checked in 1 file\(s\): 3 valid/);
  });

  it('exits 1 and prints a BAD line for a changed attribute', async () => {
    const request = toJsonRequest([signedJson()]);
    tamper(request, 'betrace.violation.severity', { stringValue: 'LOW' });
    const file = writeFile(JSON.stringify(request));
    const result = await verify(['--keys', keysFile, file]);
    assert.equal(result.code, 1);
    const span = sampleSpan();
    assert.equal(
      result.stdout,
      `BAD ${span.traceId}/${span.spanId} betrace.violation: signature does not match\n` +
        '1 span(s) checked in 1 file(s): 0 valid, 1 bad, 0 unsigned\n',
    );
  });

  it('exits 1 for a changed key id, a changed signature and an unknown key', async () => {
    const byKey = toJsonRequest([signedJson()]);
    tamper(byKey, 'betrace.signature.key_id', { stringValue: 'key-old' });
    const bySignature = toJsonRequest([signedJson()]);
    const text = withSignature(sampleSpan(), KEY_OLD).attributes.find(([k]) => k === 'betrace.signature')?.[1];
    tamper(bySignature, 'betrace.signature', { stringValue: text });
    const unknown = toJsonRequest([signedJson(sampleSpan(), testKey('key-gone', 0x99))]);
    for (const [request, reason] of [
      [byKey, /signature does not match/],
      [bySignature, /signature does not match/],
      [unknown, /key id "key-gone" is not in the key ring/],
    ] as const) {
      const result = await verify(['--keys', keysFile, writeFile(JSON.stringify(request))]);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /^BAD [0-9a-f]{32}\/[0-9a-f]{16} betrace\.violation: /);
      assert.match(result.stdout, reason);
    }
  });

  it('reports unsigned spans, and fails on them only with --require-signed', async () => {
    const file = writeRequest([signedJson(), toJsonSpan(sampleSpan())]);
    const lenient = await verify(['--keys', keysFile, file]);
    assert.equal(lenient.code, 0);
    const span = sampleSpan();
    assert.equal(
      lenient.stdout,
      `UNSIGNED ${span.traceId}/${span.spanId} betrace.violation\n` +
        '2 span(s) checked in 1 file(s): 1 valid, 0 bad, 1 unsigned\n',
    );
    const strict = await verify(['--require-signed', '--keys', keysFile, file]);
    assert.equal(strict.code, 1);
  });

  it('counts across several files', async () => {
    const a = writeRequest([signedJson()]);
    const b = writeRequest([signedJson(), signedJson()]);
    const result = await verify(['--keys', keysFile, a, b]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^3 span\(s\) checked in 2 file\(s\)/);
  });

  it('verifies integers written as JSON numbers, beyond 2^53 too, and special doubles', async () => {
    const span = sampleSpan([
      ['betrace.violation', true],
      ['betrace.test.big', 9007199254740993n],
      ['betrace.test.small', -5n],
      ['betrace.test.nan', NaN],
      ['betrace.test.inf', -Infinity],
      ['betrace.test.whole', 3],
    ]);
    const signed = withSignature(span, KEY_A);
    const sig = (key: string): string => String(signed.attributes.find(([k]) => k === key)?.[1]);
    // Written by hand: JSON.stringify cannot write a bigint as a number.
    const text = `{"resourceSpans":[{"scopeSpans":[{"spans":[{
      "traceId":"${span.traceId}","spanId":"${span.spanId}","name":"betrace.violation",
      "startTimeUnixNano":1700000000123456789,
      "attributes":[
        {"key":"betrace.violation","value":{"boolValue":true}},
        {"key":"betrace.test.big","value":{"intValue":9007199254740993}},
        {"key":"betrace.test.small","value":{"intValue":-5}},
        {"key":"betrace.test.nan","value":{"doubleValue":"NaN"}},
        {"key":"betrace.test.inf","value":{"doubleValue":"-Infinity"}},
        {"key":"betrace.test.whole","value":{"doubleValue":3}},
        {"key":"betrace.signature","value":{"stringValue":"${sig('betrace.signature')}"}},
        {"key":"betrace.signature.algorithm","value":{"stringValue":"HMAC-SHA256"}},
        {"key":"betrace.signature.key_id","value":{"stringValue":"key-a"}}
      ]}]}]}]}`;
    const result = await verify(['--keys', keysFile, writeFile(text)]);
    assert.equal(result.stdout, '1 span(s) checked in 1 file(s): 1 valid, 0 bad, 0 unsigned\n');
    assert.equal(result.code, 0);

    const changed = text.replace('9007199254740993', '9007199254740992');
    assert.equal((await verify(['--keys', keysFile, writeFile(changed)])).code, 1);
  });

  it('accepts the .proto snake_case field names as well', async () => {
    const camel = JSON.stringify(toJsonRequest([signedJson()]));
    const snake = camel.replace(/"(resourceSpans|scopeSpans|startTimeUnixNano|traceId|spanId|stringValue|boolValue|intValue|doubleValue|arrayValue)"/g,
      (_m, name: string) => `"${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}"`);
    assert.notEqual(snake, camel);
    const result = await verify(['--keys', keysFile, writeFile(snake)]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /1 valid/);
  });

  it('reports a covered attribute of a type the processor never writes', async () => {
    const request = toJsonRequest([signedJson()]);
    tamper(request, 'betrace.violation.rule_id', { bytesValue: 'AAEC' });
    const result = await verify(['--keys', keysFile, writeFile(JSON.stringify(request))]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /BAD .* betrace\.violation: attribute betrace\.violation\.rule_id holds a bytesValue/);
  });

  it('uses BETRACE_SIGNING_KEY without --keys, and --keys over it', async () => {
    const value = 'ef'.repeat(32);
    const envRing = keyRingFromEnv(value);
    const file = writeRequest([toJsonSpan(withSignature(sampleSpan(), envRing.keys[0]))]);
    const fromEnv = await verify([file], { BETRACE_SIGNING_KEY: value });
    assert.equal(fromEnv.code, 0);
    assert.match(fromEnv.stdout, /1 valid/);
    const fromFile = await verify(['--keys', keysFile, file], { BETRACE_SIGNING_KEY: value });
    assert.equal(fromFile.code, 1);
    assert.match(fromFile.stdout, /is not in the key ring/);
  });

  it('exits 0 for a file without violation or evidence spans, and for an empty file', async () => {
    const result = await verify(['--keys', keysFile, writeRequest([customerSpan()]), writeFile('')]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, '0 span(s) checked in 2 file(s): 0 valid, 0 bad, 0 unsigned\n');
  });
});

describe('betrace verify input errors', () => {
  it('exits 2 naming a file it cannot read', async () => {
    const result = await verify(['--keys', keysFile, 'missing.json']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^betrace verify: missing\.json: cannot read: ENOENT/);
  });

  it('exits 2 with the place of a JSON syntax error', async () => {
    const whole = await verify(['--keys', keysFile, writeFile('{"resourceSpans": [}')]);
    assert.equal(whole.code, 2);
    assert.match(whole.stderr, /traces-\d+\.json: .*line 1, column 20/);
    const good = JSON.stringify(toJsonRequest([signedJson()]));
    const perLine = await verify(['--keys', keysFile, writeFile(`${good}\n{"resourceSpans": x}\n`)]);
    assert.equal(perLine.code, 2);
    assert.match(perLine.stderr, /traces-\d+\.json:2: .*at column 19/);
    const pretty = await verify(['--keys', keysFile, writeFile('{\n  "resourceSpans": [\n    oops\n  ]\n}\n')]);
    assert.equal(pretty.code, 2);
    assert.match(pretty.stderr, /traces-\d+\.json: .*line 3, column 5/);
  });

  it('reads a pretty-printed request spread over many lines', async () => {
    const file = writeFile(JSON.stringify(toJsonRequest([signedJson()]), null, 2));
    const result = await verify(['--keys', keysFile, file]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /1 valid/);
  });

  it('exits 2 for JSON that is not an export request', async () => {
    const result = await verify(['--keys', keysFile, writeFile('{"resourceSpans": {"a": 1}}')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /traces-\d+\.json: resourceSpans must be a list/);
  });

  it('exits 2 for a key ring that does not load', async () => {
    const broken = writeFile('version: 1\n');
    const result = await verify(['--keys', broken, writeRequest([signedJson()])]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /keys is missing/);
  });

  const usage: Array<[string, string[], RegExp]> = [
    ['no trace files', ['--keys', 'keys.yaml'], /no trace files given/],
    ['no keys at all', ['t.json'], /give --keys FILE or set BETRACE_SIGNING_KEY/],
    ['an unknown option', ['--keys', 'k.yaml', '--fast', 't.json'], /unknown option "--fast"/],
    ['--keys without a file', ['--keys'], /--keys needs a file/],
  ];
  for (const [what, args, message] of usage) {
    it(`rejects ${what} as a usage error`, async () => {
      await assert.rejects(verify(args), (err: Error) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  it('exits 2 with the usage through the command line', async () => {
    const captured = captureIo(dir, {});
    assert.equal(await runCli(['verify', 'traces.json'], captured.io), 2);
    assert.match(captured.stderr(), /betrace verify: no keys to verify with/);
  });
});
