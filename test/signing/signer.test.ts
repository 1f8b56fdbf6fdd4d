import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';

import { toCanonicalBytes } from '../../processor/signing/canonical';
import {
  createLocalKeyProvider,
  keyRingFromEnv,
  rotateKeyRing,
} from '../../processor/signing/local-key-ring';
import {
  checkSpanSignature,
  createSpanSigner,
  verifySpanSignature,
  withSignature,
} from '../../processor/signing/signer';
import { sampleSpan, testKey, withAttribute, withoutAttribute } from './fixtures';
import { sampleEmittedSpans } from './emitted-fixtures';

import type { SignableSpan } from '../../processor/signing/canonical';
import type { KeyRing } from '../../processor/signing/key-provider';

const KEY_A = testKey('key-a', 0xa1);
const KEY_B = testKey('key-b', 0xb2);
const RING: KeyRing = { version: 1, activeKeyId: 'key-a', keys: [KEY_A, KEY_B] };

function signed(span: SignableSpan = sampleSpan()): SignableSpan {
  return withSignature(span, KEY_A);
}

function attribute(span: SignableSpan, key: string): unknown {
  return span.attributes.find(([k]) => k === key)?.[1];
}

describe('withSignature and verifySpanSignature', () => {
  it('signs with HMAC-SHA256 over the canonical bytes and the result verifies', () => {
    const span = signed();
    const expected = createHmac('sha256', KEY_A.secret)
      .update(toCanonicalBytes(sampleSpan(), 'key-a'))
      .digest('base64');
    assert.equal(attribute(span, 'betrace.signature'), expected);
    assert.equal(attribute(span, 'betrace.signature.algorithm'), 'HMAC-SHA256');
    assert.equal(attribute(span, 'betrace.signature.key_id'), 'key-a');
    assert.equal(verifySpanSignature(span, RING), 'valid');
  });

  const changes: Array<[string, (s: SignableSpan) => SignableSpan]> = [
    ['the trace ID changes', (s) => ({ ...s, traceId: '5bf92f3577b34da6a3ce929d0e0e4736' })],
    ['the span ID changes', (s) => ({ ...s, spanId: '10f067aa0ba902b7' })],
    ['the name changes', (s) => ({ ...s, name: 'compliance.evidence' })],
    ['the start time moves by 1 ns', (s) => ({ ...s, startNs: s.startNs + 1n })],
    ['a string value changes', (s) => withAttribute(s, 'betrace.violation.severity', 'LOW')],
    ['a boolean value flips', (s) => withAttribute(s, 'betrace.violation', false)],
    ['a boolean becomes the string "true"', (s) => withAttribute(s, 'betrace.violation', 'true')],
    ['an int value changes', (s) => withAttribute(s, 'betrace.test.count', 43n)],
    ['an int becomes the equal double', (s) => withAttribute(s, 'betrace.test.count', 42)],
    ['a double value changes', (s) => withAttribute(s, 'betrace.test.ratio', 0.5)],
    ['a double becomes the equal string', (s) => withAttribute(s, 'betrace.test.ratio', '0.25')],
    ['an array element changes', (s) => withAttribute(s, 'betrace.violation.span_ids', ['a1b2c3d4e5f60718', '0102030405060709'])],
    ['an array gains an element', (s) => withAttribute(s, 'betrace.violation.span_ids', ['a1b2c3d4e5f60718', '0102030405060708', ''])],
    ['a compliance value changes', (s) => withAttribute(s, 'compliance.framework', 'hipaa')],
    ['a betrace attribute is added', (s) => withAttribute(s, 'betrace.violation.extra', 'x')],
    ['a compliance attribute is added', (s) => withAttribute(s, 'compliance.control', 'CC7.2')],
    ['a betrace attribute is removed', (s) => withoutAttribute(s, 'betrace.violation.rule_id')],
    ['a compliance attribute is removed', (s) => withoutAttribute(s, 'compliance.framework')],
    ['a covered attribute is repeated', (s) => ({ ...s, attributes: [...s.attributes, ['betrace.violation', true]] })],
  ];
  for (const [what, change] of changes) {
    it(`fails when ${what}`, () => {
      const check = checkSpanSignature(change(signed()), RING);
      assert.equal(check.status, 'invalid');
      assert.equal(check.reason, 'signature does not match');
    });
  }

  it('fails when the key id names another key of the ring', () => {
    const span = withAttribute(signed(), 'betrace.signature.key_id', 'key-b');
    assert.equal(verifySpanSignature(span, RING), 'invalid');
  });

  it('fails when the key id names a twin key with the same secret', () => {
    // Only the key id inside the signed bytes tells the twins apart.
    const twins: KeyRing = { version: 1, activeKeyId: 'key-a', keys: [KEY_A, { ...KEY_A, id: 'key-a2' }] };
    const span = withAttribute(signed(), 'betrace.signature.key_id', 'key-a2');
    assert.equal(verifySpanSignature(span, twins), 'invalid');
  });

  it('answers unknown_key when the key id is not in the ring', () => {
    const check = checkSpanSignature(withAttribute(signed(), 'betrace.signature.key_id', 'key-z'), RING);
    assert.equal(check.status, 'unknown_key');
    assert.match(check.reason, /"key-z"/);
  });

  it('fails when one character of the signature changes', () => {
    const text = attribute(signed(), 'betrace.signature') as string;
    const changed = (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
    assert.equal(verifySpanSignature(withAttribute(signed(), 'betrace.signature', changed), RING), 'invalid');
  });

  it('fails when only the spare bits of the last base64 character change', () => {
    // The 43rd character carries 4 signature bits and 2 unused ones; a
    // lenient base64 decoder reads the same bytes after this change.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const text = attribute(signed(), 'betrace.signature') as string;
    const last = alphabet[alphabet.indexOf(text[42]) ^ 1];
    const changed = `${text.slice(0, 42)}${last}=`;
    assert.deepEqual(Buffer.from(changed, 'base64'), Buffer.from(text, 'base64'));
    const check = checkSpanSignature(withAttribute(signed(), 'betrace.signature', changed), RING);
    assert.equal(check.status, 'invalid');
    assert.match(check.reason, /not base64 of 32 bytes/);
  });

  it('fails when the algorithm is not HMAC-SHA256', () => {
    const check = checkSpanSignature(withAttribute(signed(), 'betrace.signature.algorithm', 'HMAC-SHA1'), RING);
    assert.equal(check.status, 'invalid');
    assert.match(check.reason, /unsupported algorithm "HMAC-SHA1"/);
  });

  it('fails when a signature attribute is missing or not a string', () => {
    const missing = checkSpanSignature(withoutAttribute(signed(), 'betrace.signature.algorithm'), RING);
    assert.equal(missing.status, 'invalid');
    assert.match(missing.reason, /missing betrace\.signature\.algorithm/);
    const typed = checkSpanSignature(withAttribute(signed(), 'betrace.signature.key_id', 7n), RING);
    assert.equal(typed.status, 'invalid');
    assert.match(typed.reason, /betrace\.signature\.key_id is not a string/);
  });

  it('fails when a signature attribute appears twice', () => {
    const span = signed();
    const doubled = { ...span, attributes: [...span.attributes, ['betrace.signature.key_id', 'key-a'] as const] };
    const check = checkSpanSignature(doubled, RING);
    assert.equal(check.status, 'invalid');
    assert.match(check.reason, /appears more than once/);
  });

  it('answers unsigned for a span without signature attributes', () => {
    assert.equal(verifySpanSignature(sampleSpan(), RING), 'unsigned');
  });

  it('still verifies after attributes outside the signed namespaces change', () => {
    let span = signed();
    span = withAttribute(span, 'service.note', 'edited');
    span = withAttribute(span, 'http.status_code', 200n);
    span = withAttribute(span, 'added.by.collector', true);
    span = withoutAttribute(span, 'service.note');
    assert.equal(verifySpanSignature(span, RING), 'valid');
  });

  it('replaces signature attributes the span already had', () => {
    const twice = withSignature(withSignature(sampleSpan(), KEY_B), KEY_A);
    const keys = twice.attributes.map(([k]) => k).filter((k) => k.startsWith('betrace.signature'));
    assert.deepEqual(keys, ['betrace.signature', 'betrace.signature.algorithm', 'betrace.signature.key_id']);
    assert.equal(attribute(twice, 'betrace.signature.key_id'), 'key-a');
    assert.equal(verifySpanSignature(twice, RING), 'valid');
  });
});

describe('createSpanSigner', () => {
  it('signs each emitted span with the active key and keeps the rest of the record', () => {
    const emitted = sampleEmittedSpans();
    const signer = createSpanSigner(createLocalKeyProvider(RING));
    const out = signer.sign(emitted);
    assert.equal(out.length, emitted.length);
    out.forEach((e, i) => {
      assert.equal(e.kind, emitted[i].kind);
      assert.equal(e.rule, emitted[i].rule);
      assert.equal(e.recordId, emitted[i].recordId);
      assert.equal(e.span.parentSpanId, emitted[i].span.parentSpanId);
      assert.equal(attribute(e.span, 'betrace.signature.key_id'), 'key-a');
      assert.equal(verifySpanSignature(e.span, RING), 'valid');
    });
  });

  it('leaves the spans it was given unchanged', () => {
    const emitted = sampleEmittedSpans();
    const before = emitted.map((e) => e.span.attributes.length);
    createSpanSigner(createLocalKeyProvider(RING)).sign(emitted);
    assert.deepEqual(emitted.map((e) => e.span.attributes.length), before);
    assert.equal(emitted.some((e) => attribute(e.span, 'betrace.signature') !== undefined), false);
  });

  it('signs violation and evidence spans alike', () => {
    const out = createSpanSigner(createLocalKeyProvider(RING)).sign(sampleEmittedSpans());
    assert.deepEqual(out.map((e) => e.kind).sort(), ['evidence', 'violation']);
    assert.deepEqual(out.map((e) => e.span.name).sort(), ['betrace.violation', 'compliance.evidence']);
  });

  it('signs new spans with the new key after a rotation while old spans still verify', () => {
    const before = createSpanSigner(createLocalKeyProvider(RING)).sign(sampleEmittedSpans());
    const rotated = rotateKeyRing(RING);
    const after = createSpanSigner(createLocalKeyProvider(rotated)).sign(sampleEmittedSpans());
    for (const e of after) {
      assert.equal(attribute(e.span, 'betrace.signature.key_id'), rotated.activeKeyId);
      assert.equal(verifySpanSignature(e.span, rotated), 'valid');
      assert.equal(verifySpanSignature(e.span, RING), 'unknown_key');
    }
    assert.notEqual(rotated.activeKeyId, RING.activeKeyId);
    for (const e of before) assert.equal(verifySpanSignature(e.span, rotated), 'valid');
  });

  it('signs with a key from BETRACE_SIGNING_KEY that a verifier with the same value finds', () => {
    const hex = 'ab'.repeat(32);
    const span = createSpanSigner(createLocalKeyProvider(keyRingFromEnv(hex))).sign(sampleEmittedSpans())[0].span;
    const sameBytesInBase64 = Buffer.from(hex, 'hex').toString('base64');
    assert.equal(verifySpanSignature(span, keyRingFromEnv(hex)), 'valid');
    assert.equal(verifySpanSignature(span, keyRingFromEnv(sameBytesInBase64)), 'valid');
    assert.equal(verifySpanSignature(span, keyRingFromEnv('cd'.repeat(32))), 'unknown_key');
  });

  it('returns an empty batch without asking for a key', () => {
    let asked = 0;
    const provider = {
      activeKey: () => {
        asked++;
        return KEY_A;
      },
      keyById: () => undefined,
      describe: () => 'counting',
    };
    assert.deepEqual(createSpanSigner(provider).sign([]), []);
    assert.equal(asked, 0);
  });
});
