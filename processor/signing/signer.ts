/**
 * Signs violation and evidence spans with HMAC-SHA256 over their canonical
 * bytes (canonical.ts, docs/signing.md), and checks such signatures.
 */

import { createHmac, timingSafeEqual } from 'node:crypto';

import {
  ALGORITHM_ATTRIBUTE,
  KEY_ID_ATTRIBUTE,
  SIGNATURE_ALGORITHM,
  SIGNATURE_ATTRIBUTE,
  isSignatureAttribute,
  toCanonicalBytes,
} from './canonical';
import { findKey } from './key-provider';

import type { EmittedSpan } from '../emit/emitted-spans';
import type { EmittedSpanSigner } from '../pipeline';
import type { SignableSpan, SignedAttributeValue } from './canonical';
import type { KeyProvider, KeyRing, SigningKey } from './key-provider';

/** What a signature check found. */
export type SignatureStatus = 'valid' | 'invalid' | 'unsigned' | 'unknown_key';

/** A check's status with a short reason for anything but `valid`. */
export interface SignatureCheck {
  readonly status: SignatureStatus;
  /** '' when valid; otherwise lowercase, for `betrace verify` output. */
  readonly reason: string;
}

const HMAC_BYTES = 32;
// Base64 of 32 bytes: 43 characters and one '='. Only the exact encoding the
// signer writes is accepted; a lenient decoder would ignore the last
// character's two spare bits, so a changed signature could still verify.
const SIGNATURE_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

type Attribute = readonly [string, SignedAttributeValue];

/**
 * A signer for the pipeline: each batch is signed with the provider's
 * active key, asked once per batch so that a batch never mixes keys.
 */
export function createSpanSigner(provider: KeyProvider): EmittedSpanSigner {
  return {
    sign(spans: readonly EmittedSpan[]): readonly EmittedSpan[] {
      if (spans.length === 0) return spans;
      const key = provider.activeKey();
      return spans.map((emitted) => ({ ...emitted, span: withSignature(emitted.span, key) }));
    },
  };
}

/** A copy of `span` with the three signature attributes (replacing any it had). */
export function withSignature<S extends SignableSpan>(span: S, key: SigningKey): S {
  const attributes: Attribute[] = span.attributes.filter(([name]) => !isSignatureAttribute(name));
  const unsigned = { ...span, attributes };
  const signature = computeSignature(unsigned, key).toString('base64');
  attributes.push(
    [SIGNATURE_ATTRIBUTE, signature],
    [ALGORITHM_ATTRIBUTE, SIGNATURE_ALGORITHM],
    [KEY_ID_ATTRIBUTE, key.id],
  );
  return unsigned;
}

/**
 * Checks a span's signature against the key ring: `unsigned` when it has
 * none of the signature attributes, `unknown_key` when its key id is not in
 * the ring, `invalid` for anything else that does not verify.
 */
export function verifySpanSignature(span: SignableSpan, keys: KeyRing): SignatureStatus {
  return checkSpanSignature(span, keys).status;
}

/** Like verifySpanSignature, with the reason when the span does not verify. */
export function checkSpanSignature(span: SignableSpan, keys: KeyRing): SignatureCheck {
  const found = signatureAttributesOf(span.attributes);
  if (typeof found === 'string') return invalid(found);
  const { signature, algorithm, keyId } = found;
  if (signature === undefined && algorithm === undefined && keyId === undefined) {
    return { status: 'unsigned', reason: 'no signature attributes' };
  }

  const missing = [
    signature === undefined ? SIGNATURE_ATTRIBUTE : '',
    algorithm === undefined ? ALGORITHM_ATTRIBUTE : '',
    keyId === undefined ? KEY_ID_ATTRIBUTE : '',
  ].filter((name) => name !== '');
  if (missing.length > 0) return invalid(`missing ${missing.join(', ')}`);
  for (const [name, value] of [
    [SIGNATURE_ATTRIBUTE, signature],
    [ALGORITHM_ATTRIBUTE, algorithm],
    [KEY_ID_ATTRIBUTE, keyId],
  ] as const) {
    if (typeof value !== 'string') return invalid(`${name} is not a string`);
  }
  const text = signature as string;
  if (algorithm !== SIGNATURE_ALGORITHM) return invalid(`unsupported algorithm ${JSON.stringify(algorithm)}`);

  const key = findKey(keys, keyId as string);
  if (key === undefined) {
    return { status: 'unknown_key', reason: `key id ${JSON.stringify(keyId)} is not in the key ring` };
  }
  if (!SIGNATURE_BASE64.test(text)) return invalid(`${SIGNATURE_ATTRIBUTE} is not base64 of ${HMAC_BYTES} bytes`);

  const expected = computeSignature(span, key);
  const given = Buffer.from(text, 'base64');
  if (given.length !== HMAC_BYTES || given.toString('base64') !== text) {
    return invalid(`${SIGNATURE_ATTRIBUTE} is not base64 of ${HMAC_BYTES} bytes`);
  }
  if (!timingSafeEqual(given, expected)) return invalid('signature does not match');
  return { status: 'valid', reason: '' };
}

function computeSignature(span: SignableSpan, key: SigningKey): Buffer {
  return createHmac('sha256', key.secret).update(toCanonicalBytes(span, key.id)).digest();
}

interface FoundAttributes {
  signature?: SignedAttributeValue;
  algorithm?: SignedAttributeValue;
  keyId?: SignedAttributeValue;
}

/** The signature attributes, or a reason when one appears twice. */
function signatureAttributesOf(attributes: readonly Attribute[]): FoundAttributes | string {
  const found: FoundAttributes = {};
  for (const [name, value] of attributes) {
    let slot: keyof FoundAttributes;
    if (name === SIGNATURE_ATTRIBUTE) slot = 'signature';
    else if (name === ALGORITHM_ATTRIBUTE) slot = 'algorithm';
    else if (name === KEY_ID_ATTRIBUTE) slot = 'keyId';
    else continue;
    if (found[slot] !== undefined) return `${name} appears more than once`;
    found[slot] = value;
  }
  return found;
}

function invalid(reason: string): SignatureCheck {
  return { status: 'invalid', reason };
}
