import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { PROTO_ERRORS } from '../../proto/errors';
import { OTLP_MESSAGES } from '../../proto/otlp-schema';
import { loadOtlpRoot } from '../helpers/otlp-decode';
import { REPO_ROOT } from '../helpers/paths';

const PACKAGES: Record<string, string> = {
  ExportTraceServiceRequest: 'opentelemetry.proto.collector.trace.v1',
  ExportTraceServiceResponse: 'opentelemetry.proto.collector.trace.v1',
  ExportTracePartialSuccess: 'opentelemetry.proto.collector.trace.v1',
  ResourceSpans: 'opentelemetry.proto.trace.v1',
  ScopeSpans: 'opentelemetry.proto.trace.v1',
  Span: 'opentelemetry.proto.trace.v1',
  Event: 'opentelemetry.proto.trace.v1.Span',
  Link: 'opentelemetry.proto.trace.v1.Span',
  Status: 'opentelemetry.proto.trace.v1',
  Resource: 'opentelemetry.proto.resource.v1',
  AnyValue: 'opentelemetry.proto.common.v1',
  ArrayValue: 'opentelemetry.proto.common.v1',
  KeyValueList: 'opentelemetry.proto.common.v1',
  KeyValue: 'opentelemetry.proto.common.v1',
  InstrumentationScope: 'opentelemetry.proto.common.v1',
  EntityRef: 'opentelemetry.proto.common.v1',
};

const KIND_OF_TYPE: Record<string, string[]> = {
  string: ['string'],
  bytes: ['bytes', 'traceId', 'spanId', 'parentSpanId'],
  bool: ['bool'],
  int64: ['int64'],
  uint32: ['uint32'],
  fixed64: ['fixed64'],
  fixed32: ['fixed32'],
  double: ['double'],
};

describe('the OTLP schema table', () => {
  it('matches proto/otlp/*.proto field for field', () => {
    const root = loadOtlpRoot();
    assert.deepEqual(Object.keys(OTLP_MESSAGES).sort(), Object.keys(PACKAGES).sort());
    for (const [name, spec] of Object.entries(OTLP_MESSAGES)) {
      const type = root.lookupType(`${PACKAGES[name]}.${name}`);
      const reflected = [...type.fieldsArray]
        .sort((a, b) => a.id - b.id)
        .map((f) => [f.id, f.name, f.repeated, f.partOf !== null]);
      const ours = spec.fields.map((f) => [f.no, f.json, f.repeated, f.oneof]);
      assert.deepEqual(ours, reflected, name);
      for (const f of spec.fields) {
        const field = type.fields[f.json];
        field.resolve();
        const where = `${name}.${f.proto}`;
        if (f.kind === 'message') {
          assert.equal(field.resolvedType?.name, f.message?.name, where);
        } else if (f.kind === 'enum') {
          const values = (field.resolvedType as unknown as { values: object }).values;
          assert.deepEqual({ ...f.enumValues }, { ...values }, where);
        } else {
          assert.ok(KIND_OF_TYPE[field.type]?.includes(f.kind), `${where}: ${field.type} vs ${f.kind}`);
        }
      }
    }
  });
});

describe('PROTO_ERRORS', () => {
  it('declares every code the proto sources use, and only those', () => {
    const dir = path.join(REPO_ROOT, 'proto');
    const used = new Set<string>();
    for (const file of fs.readdirSync(dir)) {
      if (!file.endsWith('.ts') || file === 'errors.ts') continue;
      const source = fs.readFileSync(path.join(dir, file), 'utf8');
      for (const m of source.matchAll(/ERR_PROTO_[A-Z_]+/g)) used.add(m[0]);
    }
    assert.deepEqual([...used].sort(), Object.keys(PROTO_ERRORS).sort());
  });
});
