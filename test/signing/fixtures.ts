/**
 * Shared pieces of the signing tests: temporary folders, captured command
 * output, sample spans and their OTLP/JSON form written by hand.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';

import type { CliIo } from '../../processor/cli/io';
import type { SignableSpan, SignedAttributeValue } from '../../processor/signing/canonical';
import type { SigningKey } from '../../processor/signing/key-provider';

/** A fresh temporary folder; remove it with removeTempDir. */
export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-signing-'));
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A CliIo whose output is kept in memory. */
export interface CapturedIo {
  readonly io: CliIo;
  stdout(): string;
  stderr(): string;
}

export function captureIo(cwd: string, env: NodeJS.ProcessEnv = {}): CapturedIo {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  err.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return {
    io: { stdout: out, stderr: err, cwd, env },
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

/** A key with a fixed, recognisable secret. */
export function testKey(id: string, fill: number): SigningKey {
  return { id, secret: Buffer.alloc(32, fill), createdAt: '2025-01-02T03:04:05.000Z' };
}

type Attributes = Array<readonly [string, SignedAttributeValue]>;

/** A violation-like span holding every kind of attribute value, covered and not. */
export function sampleSpan(attributes: Attributes = sampleAttributes()): SignableSpan {
  return {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    name: 'betrace.violation',
    startNs: 1_700_000_000_123_456_789n,
    attributes,
  };
}

export function sampleAttributes(): Attributes {
  return [
    ['betrace.violation', true],
    ['betrace.violation.rule_id', 'payment-fraud-check'],
    ['betrace.violation.severity', 'HIGH'],
    ['betrace.violation.span_ids', ['a1b2c3d4e5f60718', '0102030405060708']],
    ['betrace.test.count', 42n],
    ['betrace.test.ratio', 0.25],
    ['compliance.framework', 'soc2'],
    ['service.note', 'not covered'],
    ['http.status_code', 500n],
  ];
}

/** An OTLP/JSON AnyValue for an attribute value, in the shape exporters write. */
export function toJsonValue(value: SignedAttributeValue): Record<string, unknown> {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'bigint') return { intValue: value.toString() };
  if (typeof value === 'number') {
    return { doubleValue: Number.isFinite(value) ? value : String(value) };
  }
  return { arrayValue: { values: value.map((v) => ({ stringValue: v })) } };
}

/** An OTLP/JSON span object for `span`. */
export function toJsonSpan(span: SignableSpan): Record<string, unknown> {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: 'b7ad6b7169203331',
    name: span.name,
    kind: 1,
    startTimeUnixNano: span.startNs.toString(),
    endTimeUnixNano: (span.startNs + 1_000_000n).toString(),
    attributes: span.attributes.map(([key, value]) => ({ key, value: toJsonValue(value) })),
    status: {},
  };
}

/** An ExportTraceServiceRequest holding `spans` under the betrace scope. */
export function toJsonRequest(spans: readonly Record<string, unknown>[]): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
        scopeSpans: [{ scope: { name: 'betrace', version: '0.1.0' }, spans }],
      },
    ],
  };
}

/** The attributes of `span` with `key` set to `value` (replaced, or added at the end). */
export function withAttribute(span: SignableSpan, key: string, value: SignedAttributeValue): SignableSpan {
  const attributes: Attributes = span.attributes.map(([k, v]) => [k, k === key ? value : v] as const);
  if (!span.attributes.some(([k]) => k === key)) attributes.push([key, value]);
  return { ...span, attributes };
}

/** The attributes of `span` without `key`. */
export function withoutAttribute(span: SignableSpan, key: string): SignableSpan {
  return { ...span, attributes: span.attributes.filter(([k]) => k !== key) };
}
