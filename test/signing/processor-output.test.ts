import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { encodeSpansRequest } from '../../proto/encode-spans';
import { protobufToOtlpJson } from '../../proto/otlp-json';
import { verifyCommand } from '../../processor/cli/verify';
import {
  createLocalKeyProvider,
  generateKeyRing,
  loadKeyRing,
  rotateKeyRing,
  writeKeyRing,
} from '../../processor/signing/local-key-ring';
import { createSpanSigner } from '../../processor/signing/signer';
import { sampleEmittedSpans } from './emitted-fixtures';
import { captureIo, makeTempDir, removeTempDir } from './fixtures';

import type { EmittedSpan } from '../../processor/emit/emitted-spans';

// What the pipeline does with emitted spans: sign, encode as protobuf for
// the exporter. The protobuf is then turned into the OTLP/JSON a
// Collector's file exporter would write, and `betrace verify` reads that.
const SCOPE = { name: 'betrace', version: '0.0.0-test' };
const RESOURCE_EXTRA = [['betrace.processor.version', '0.0.0-test']] as const;

let dir: string;
let keysFile: string;
before(() => {
  dir = makeTempDir();
  keysFile = path.join(dir, 'keys.yaml');
  writeKeyRing(keysFile, generateKeyRing());
});
after(() => removeTempDir(dir));

function exportedJson(spans: readonly EmittedSpan[]): string {
  return protobufToOtlpJson(encodeSpansRequest(spans.map((e) => e.span), SCOPE, RESOURCE_EXTRA));
}

function signWithFile(epochMs?: number): readonly EmittedSpan[] {
  const signer = createSpanSigner(createLocalKeyProvider(loadKeyRing(keysFile), keysFile));
  return signer.sign(sampleEmittedSpans(epochMs));
}

async function verifyText(text: string): Promise<{ code: number; stdout: string }> {
  const file = path.join(dir, `export-${Math.random().toString(16).slice(2)}.json`);
  fs.writeFileSync(file, text);
  const captured = captureIo(dir);
  const code = await verifyCommand(['--require-signed', '--keys', keysFile, file], captured.io);
  return { code, stdout: captured.stdout() };
}

describe('spans signed by the processor', () => {
  it('verify after protobuf encoding and conversion to OTLP/JSON', async () => {
    const result = await verifyText(exportedJson(signWithFile()));
    assert.equal(result.stdout, '2 span(s) checked in 1 file(s): 2 valid, 0 bad, 0 unsigned\n');
    assert.equal(result.code, 0);
  });

  it('fail to verify once a signed field of the export is edited', async () => {
    const edits: Array<[string, (text: string) => string]> = [
      ['the rule id', (t) => t.replace('"payment-fraud-check"', '"payment-fraud-chek"')],
      ['the severity', (t) => t.replace('"HIGH"', '"LOW"')],
      ['the compliance control', (t) => t.replace('"CC7.2"', '"CC7.3"')],
      ['the start time', (t) => t.replace(/"startTimeUnixNano":"(\d+)"/, (_m, ns: string) => `"startTimeUnixNano":"${BigInt(ns) + 1n}"`)],
    ];
    const text = exportedJson(signWithFile());
    for (const [what, edit] of edits) {
      const edited = edit(text);
      assert.notEqual(edited, text, `the edit of ${what} applies`);
      const result = await verifyText(edited);
      assert.equal(result.code, 1, what);
      assert.match(result.stdout, /BAD .*: signature does not match/, what);
    }
  });

  it('still verify after a rotation, beside new spans signed with the new key', async () => {
    const old = exportedJson(signWithFile(1_700_000_000_000));
    const previous = loadKeyRing(keysFile);
    writeKeyRing(keysFile, rotateKeyRing(previous));
    const fresh = signWithFile(1_700_000_100_000);
    const newKeyId = loadKeyRing(keysFile).activeKeyId;
    assert.notEqual(newKeyId, previous.activeKeyId);
    for (const e of fresh) {
      assert.ok(e.span.attributes.some(([k, v]) => k === 'betrace.signature.key_id' && v === newKeyId));
    }
    const result = await verifyText(`${old}\n${exportedJson(fresh)}\n`);
    assert.equal(result.stdout, '4 span(s) checked in 1 file(s): 4 valid, 0 bad, 0 unsigned\n');
    assert.equal(result.code, 0);
  });
});
