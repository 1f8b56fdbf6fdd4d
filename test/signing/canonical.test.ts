import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  isCoveredAttribute,
  toCanonicalBytes,
} from '../../processor/signing/canonical';
import { sampleSpan } from './fixtures';

import type { SignableSpan, SignedAttributeValue } from '../../processor/signing/canonical';

// An encoder of the documented layout written apart from the product's: hex
// text put together piece by piece.
const u32 = (n: number): string => n.toString(16).padStart(8, '0');
const field = (text: string): string => {
  const hex = Buffer.from(text, 'utf8').toString('hex');
  return u32(hex.length / 2) + hex;
};
const header = (span: SignableSpan, keyId: string): string =>
  field('betrace-span-signature-v1') +
  field(keyId) +
  field(span.traceId) +
  field(span.spanId) +
  field(span.name) +
  field(span.startNs.toString());

function spanWith(attributes: Array<readonly [string, SignedAttributeValue]>): SignableSpan {
  return sampleSpan(attributes);
}

function canonicalHex(attributes: Array<readonly [string, SignedAttributeValue]>, keyId = 'k1'): string {
  return toCanonicalBytes(spanWith(attributes), keyId).toString('hex');
}

describe('toCanonicalBytes', () => {
  it('writes the documented layout: tag, key id, ids, name, start, sorted typed attributes', () => {
    const span = spanWith([
      ['betrace.z', 's'],
      ['compliance.a', true],
      ['betrace.a', 7n],
      ['betrace.d', 1.5],
      ['betrace.arr', ['x', 'yz']],
      ['other.key', 'ignored'],
      ['betrace.signature', 'ignored'],
    ]);
    const expected =
      header(span, 'k1') +
      u32(5) +
      field('betrace.a') + '69' + field('7') +
      field('betrace.arr') + '61' + u32(2) + field('x') + field('yz') +
      field('betrace.d') + '64' + '3ff8000000000000' +
      field('betrace.z') + '73' + field('s') +
      field('compliance.a') + '62' + '01';
    assert.equal(toCanonicalBytes(span, 'k1').toString('hex'), expected);
  });

  it('sorts keys by their UTF-8 bytes, not by UTF-16 code units', () => {
    // U+FF61 sorts after U+1F600 in UTF-16 (0xFF61 > 0xD83D) but before it in UTF-8 (EF < F0).
    const halfwidth = 'betrace.\uff61';
    const emoji = 'betrace.\u{1f600}';
    const span = spanWith([[emoji, 'e'], [halfwidth, 'h']]);
    const expected = header(span, 'k1') + u32(2) +
      field(halfwidth) + '73' + field('h') +
      field(emoji) + '73' + field('e');
    assert.equal(toCanonicalBytes(span, 'k1').toString('hex'), expected);
  });

  it('does not depend on the order the attributes come in', () => {
    const a = canonicalHex([['betrace.a', 'x'], ['compliance.b', 'y'], ['betrace.c', 1n]]);
    const b = canonicalHex([['betrace.c', 1n], ['compliance.b', 'y'], ['betrace.a', 'x']]);
    assert.equal(a, b);
  });

  it('tells apart values that look alike but differ in type', () => {
    const variants: SignedAttributeValue[] = [true, 'true', 1n, 1, '1', ['1'], [], ''];
    const encodings = variants.map((v) => canonicalHex([['betrace.v', v]]));
    assert.equal(new Set(encodings).size, variants.length);
  });

  it('keeps the boundaries between keys, values and array elements', () => {
    const pairs: Array<Array<readonly [string, SignedAttributeValue]>> = [
      [['betrace.a', 'bc']],
      [['betrace.ab', 'c']],
      [['betrace.a', ['b', 'c']]],
      [['betrace.a', ['bc']]],
      [['betrace.a', ['b', 'c', '']]],
      [['betrace.a', 'b'], ['betrace.c', '']],
    ];
    const encodings = pairs.map((attributes) => canonicalHex(attributes));
    assert.equal(new Set(encodings).size, pairs.length);
  });

  it('covers the key id', () => {
    assert.notEqual(canonicalHex([], 'key-a'), canonicalHex([], 'key-b'));
  });

  it('leaves out attributes outside betrace.* and compliance.* and the signature attributes', () => {
    const bare = canonicalHex([['betrace.a', 'x']]);
    const noisy = canonicalHex([
      ['betrace.a', 'x'],
      ['http.method', 'GET'],
      ['betrace', 'no dot'],
      ['Betrace.a', 'other case'],
      ['betrace.signature', 'abc'],
      ['betrace.signature.algorithm', 'HMAC-SHA256'],
      ['betrace.signature.key_id', 'k1'],
    ]);
    assert.equal(noisy, bare);
  });

  it('writes one NaN and one zero for doubles', () => {
    assert.ok(canonicalHex([['betrace.d', NaN]]).endsWith('647ff8000000000000'));
    assert.equal(canonicalHex([['betrace.d', -0]]), canonicalHex([['betrace.d', 0]]));
    assert.notEqual(canonicalHex([['betrace.d', Infinity]]), canonicalHex([['betrace.d', -Infinity]]));
  });

  it('reads trace and span IDs without regard to hex letter case', () => {
    const lower = sampleSpan([]);
    const upper = { ...lower, traceId: lower.traceId.toUpperCase(), spanId: lower.spanId.toUpperCase() };
    assert.equal(toCanonicalBytes(upper, 'k1').toString('hex'), toCanonicalBytes(lower, 'k1').toString('hex'));
  });
});

describe('isCoveredAttribute', () => {
  it('covers the betrace and compliance namespaces but the three signature attributes', () => {
    assert.equal(isCoveredAttribute('betrace.violation.rule_id'), true);
    assert.equal(isCoveredAttribute('compliance.control'), true);
    assert.equal(isCoveredAttribute('betrace.signature.other'), true);
    assert.equal(isCoveredAttribute('betrace.signature'), false);
    assert.equal(isCoveredAttribute('betrace.signature.algorithm'), false);
    assert.equal(isCoveredAttribute('betrace.signature.key_id'), false);
    assert.equal(isCoveredAttribute('service.name'), false);
  });
});
