import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { toGrpcTarget, toHttpUrl } from '../../processor/exporter/endpoint';
import { decodeRpcStatus, toAcceptedOutcome } from '../../processor/exporter/wire';
import { encodeExportResponse } from '../../proto/export-response';

describe('toGrpcTarget', () => {
  it('dials a bare host:port with TLS unless insecure', () => {
    assert.deepEqual(toGrpcTarget('tempo:4317', false), { target: 'tempo:4317', useTls: true });
    assert.deepEqual(toGrpcTarget('tempo:4317', true), { target: 'tempo:4317', useTls: false });
  });

  it('lets the scheme of a URL decide, whatever insecure says', () => {
    assert.deepEqual(toGrpcTarget('http://tempo:4317', false), { target: 'tempo:4317', useTls: false });
    assert.deepEqual(toGrpcTarget('https://tempo:4317/', true), { target: 'tempo:4317', useTls: true });
    assert.deepEqual(toGrpcTarget('HTTPS://tempo', true), { target: 'tempo:443', useTls: true });
    assert.deepEqual(toGrpcTarget('http://[::1]:4317', true), { target: '[::1]:4317', useTls: false });
  });
});

describe('toHttpUrl', () => {
  it('appends /v1/traces when the URL has no path', () => {
    assert.equal(toHttpUrl('http://tempo:4318', false).toString(), 'http://tempo:4318/v1/traces');
    assert.equal(toHttpUrl('https://tempo:4318/', false).toString(), 'https://tempo:4318/v1/traces');
  });

  it('keeps a path that is given', () => {
    assert.equal(toHttpUrl('https://gw.example/otlp/v1/traces', false).toString(), 'https://gw.example/otlp/v1/traces');
  });

  it('picks the scheme of a bare host:port from insecure', () => {
    assert.equal(toHttpUrl('tempo:4318', true).toString(), 'http://tempo:4318/v1/traces');
    assert.equal(toHttpUrl('tempo:4318', false).toString(), 'https://tempo:4318/v1/traces');
  });
});

describe('decodeRpcStatus', () => {
  it('reads the code, the message and a RetryInfo delay', () => {
    const typeUrl = Buffer.from('type.googleapis.com/google.rpc.RetryInfo');
    const duration = Buffer.from([0x08, 0x02, 0x10, 0x80, 0xe1, 0xeb, 0x17]); // 2 s + 50 000 000 ns
    const retryInfo = Buffer.concat([Buffer.from([0x0a, duration.length]), duration]);
    const any = Buffer.concat([Buffer.from([0x0a, typeUrl.length]), typeUrl, Buffer.from([0x12, retryInfo.length]), retryInfo]);
    const message = Buffer.from('slow down');
    const status = Buffer.concat([
      Buffer.from([0x08, 0x08, 0x12, message.length]), message, Buffer.from([0x1a, any.length]), any,
    ]);

    assert.deepEqual(decodeRpcStatus(status), { code: 8, message: 'slow down', retryDelayMs: 2050 });
  });

  it('ignores details of other types', () => {
    const typeUrl = Buffer.from('type.googleapis.com/google.rpc.DebugInfo');
    const any = Buffer.concat([Buffer.from([0x0a, typeUrl.length]), typeUrl]);
    const status = Buffer.concat([Buffer.from([0x08, 0x03, 0x1a, any.length]), any]);

    assert.deepEqual(decodeRpcStatus(status), { code: 3, message: '', retryDelayMs: undefined });
  });

  it('answers undefined for bytes that do not parse', () => {
    assert.equal(decodeRpcStatus(Buffer.from([0x12, 0x40, 0x01])), undefined);
  });
});

describe('toAcceptedOutcome', () => {
  it('reads the partial success of a response', () => {
    assert.deepEqual(toAcceptedOutcome(encodeExportResponse(4, 'bad ids')), { ok: true, rejectedSpans: 4, message: 'bad ids' });
  });

  it('reads an empty or malformed response as a full success', () => {
    assert.deepEqual(toAcceptedOutcome(new Uint8Array(0)), { ok: true, rejectedSpans: 0, message: '' });
    assert.deepEqual(toAcceptedOutcome(Buffer.from([0x0a, 0x7f])), { ok: true, rejectedSpans: 0, message: '' });
  });
});
