/**
 * A running processor picks up a rotated key ring without a restart: when
 * the file changes and on SIGHUP. A ring that does not load keeps the keys
 * in use and is logged with its position.
 */

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { protobufToOtlpJson } from '../../proto/otlp-json';
import { verifyCommand } from '../../processor/cli/verify';
import { formatKeyRing, generateKeyRing, loadKeyRing, rotateKeyRing, writeKeyRing } from '../../processor/signing/local-key-ring';
import { captureLog } from '../helpers/log-capture';
import { buildRequest, hexId, spansNamed } from '../helpers/otlp-build';
import { startHarness } from '../helpers/processor-harness';
import { callUnary, createRawClient } from '../receiver/raw-grpc';
import { captureIo } from './fixtures';

import type { CapturedLog, LogLine } from '../helpers/log-capture';
import type { Harness } from '../helpers/processor-harness';

const RULES = 'rules:\n  - id: needs-b\n    condition: when { a.step } always { b.step }\n';

/** Sends a trace that violates `needs-b` and answers its violation span's key id. */
async function violationKeyId(h: Harness): Promise<string> {
  const traceId = hexId(16);
  const client = createRawClient(h.grpcEndpoint);
  try {
    const outcome = await callUnary(client, buildRequest([{ spans: [{ traceId, spanId: hexId(8), name: 'a.step' }] }]));
    assert.equal(outcome.error, null);
  } finally {
    client.close();
  }
  const ofTrace = (reqs: readonly Uint8Array[]) =>
    spansNamed(reqs, 'betrace.violation').filter((s) => s.span.traceId === traceId);
  await h.sink!.waitFor((reqs) => ofTrace(reqs).length > 0, 5000);
  return String(ofTrace(h.sink!.requests)[0].attributes['betrace.signature.key_id']);
}

async function waitForLine(log: CapturedLog, match: (line: LogLine) => boolean): Promise<LogLine> {
  for (let i = 0; i < 250; i++) {
    const found = log.lines.find(match);
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`no such log line; logged: ${JSON.stringify(log.messages())}`);
}

describe('a key ring rotated while the processor runs', () => {
  let h: Harness;
  let log: CapturedLog;
  let keyFile: string;
  const signals = new EventEmitter();
  const firstRing = generateKeyRing();

  before(async () => {
    log = captureLog();
    h = await startHarness({
      rules: { 'r.yaml': RULES },
      files: { 'keys.yaml': formatKeyRing(firstRing) },
      extraConfig: 'signing:\n  key_file: keys.yaml',
      logger: log.logger,
      signals,
      watchDebounceMs: 20,
    });
    keyFile = path.join(h.dir, 'keys.yaml');
  });
  after(async () => {
    await h.stop();
  });

  it('signs with the new active key once the file changes, and both keys verify', async () => {
    assert.equal(await violationKeyId(h), firstRing.activeKeyId);
    const rotated = rotateKeyRing(firstRing);
    writeKeyRing(keyFile, rotated);
    const line = await waitForLine(log, (l) => l.msg === 'key ring reloaded, new active key');
    assert.equal(line.reason, 'file');
    assert.equal(line.keyId, rotated.activeKeyId);
    assert.equal(line.previousKeyId, firstRing.activeKeyId);
    assert.equal(await violationKeyId(h), rotated.activeKeyId);

    const exported = path.join(h.dir, 'exported.json');
    fs.writeFileSync(exported, h.sink!.requests.map((r) => protobufToOtlpJson(r)).join('\n'));
    const io = captureIo(h.dir);
    const code = await verifyCommand(['--require-signed', '--keys', keyFile, exported], io.io);
    assert.match(io.stdout(), /: 2 valid, 0 bad, 0 unsigned\n$/);
    assert.equal(code, 0);
  });

  it('keeps the keys in use when the changed file does not load, and says where it is wrong', async () => {
    const inUse = loadKeyRing(keyFile).activeKeyId;
    fs.writeFileSync(keyFile, 'version: 1\nactive_key: "k1"\nkeys: [\n');
    const line = await waitForLine(log, (l) => l.msg.startsWith('key ring not reloaded'));
    assert.equal(line.code, 'ERR_SIGNING_KEY_RING_SYNTAX');
    assert.match(line.msg, /keys\.yaml:\d+:\d+: /);
    assert.equal(line.keyId, inUse);
    assert.equal(await violationKeyId(h), inUse);
  });

  it('reads the file again on SIGHUP', async () => {
    const ring = rotateKeyRing(generateKeyRing());
    fs.writeFileSync(keyFile, formatKeyRing(ring), { mode: 0o600 });
    signals.emit('SIGHUP');
    await waitForLine(log, (l) => l.reason === 'sighup' && l.keyId === ring.activeKeyId);
    assert.equal(await violationKeyId(h), ring.activeKeyId);
  });
});
