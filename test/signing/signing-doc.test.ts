import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { toCanonicalBytes } from '../../processor/signing/canonical';
import { SIGNING_ERRORS } from '../../processor/signing/errors';
import { forEachEmittedSpan } from '../../processor/signing/otlp-json-spans';
import { checkSpanSignature } from '../../processor/signing/signer';
import { REPO_ROOT } from '../helpers/paths';

import type { JsonEmittedSpan } from '../../processor/signing/otlp-json-spans';

// docs/signing.md is what auditors implement against; its worked example and
// its code table must agree with the code.
const DOC = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'signing.md'), 'utf8');

function section(heading: string): string {
  const start = DOC.indexOf(heading);
  assert.notEqual(start, -1, `docs/signing.md has "${heading}"`);
  const next = DOC.indexOf('\n## ', start + heading.length);
  const nextSub = DOC.indexOf('\n### ', start + heading.length);
  const ends = [next, nextSub].filter((i) => i !== -1);
  return DOC.slice(start, ends.length === 0 ? DOC.length : Math.min(...ends));
}

function codeBlock(text: string, info: string): string {
  const match = new RegExp('```' + info + '\\n([\\s\\S]*?)```').exec(text);
  assert.ok(match !== null, `a \`\`\`${info} block`);
  return match[1];
}

function exampleSpan(example: string): JsonEmittedSpan {
  const spans: JsonEmittedSpan[] = [];
  const span = JSON.parse(codeBlock(example, 'json')) as unknown;
  forEachEmittedSpan({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }, (s) => spans.push(s));
  assert.equal(spans.length, 1);
  return spans[0];
}

describe('docs/signing.md', () => {
  const example = section('### Example');
  const keyHex = /key bytes `([0-9a-f]{64})`/.exec(example)?.[1];
  const keyId = /Key id `([^`]+)`/.exec(example)?.[1];

  it('gives the canonical bytes of its example span as the code builds them', () => {
    assert.ok(keyId !== undefined);
    const documented = codeBlock(example, 'hex')
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim())
      .join('');
    assert.equal(toCanonicalBytes(exampleSpan(example), keyId).toString('hex'), documented);
  });

  it('shows a signature that verifies under the documented key, and fails once edited', () => {
    assert.ok(keyHex !== undefined && keyId !== undefined);
    const ring = { version: 1 as const, activeKeyId: keyId, keys: [{ id: keyId, secret: Buffer.from(keyHex, 'hex'), createdAt: '' }] };
    const span = exampleSpan(example);
    assert.deepEqual(checkSpanSignature(span, ring), { status: 'valid', reason: '' });
    const edited = { ...span, attributes: span.attributes.map(([k, v]) => [k, k === 'compliance.framework' ? 'hipaa' : v] as const) };
    assert.equal(checkSpanSignature(edited, ring).status, 'invalid');
  });

  it('lists exactly the declared error codes', () => {
    const table = section('## Error codes');
    const documented = [...table.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    assert.deepEqual(documented, Object.keys(SIGNING_ERRORS).sort());
  });
});
