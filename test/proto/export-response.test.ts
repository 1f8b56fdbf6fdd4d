import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import fc from 'fast-check';

import { decodeExportResponse, encodeExportResponse } from '../../proto/export-response';
import { otlpType } from '../helpers/otlp-decode';

const RESPONSE = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse';

function encodeReflected(object: Record<string, unknown>): Uint8Array {
  const type = otlpType(RESPONSE);
  return type.encode(type.fromObject(object)).finish();
}

describe('encodeExportResponse', () => {
  it('gives an empty response for full success', () => {
    assert.equal(encodeExportResponse(0, '').length, 0);
  });

  it('matches a reflected encoding of the partial success', () => {
    const bytes = encodeExportResponse(3, 'span 2: trace ID is all zero');
    const expected = encodeReflected({
      partialSuccess: { rejectedSpans: 3, errorMessage: 'span 2: trace ID is all zero' },
    });
    assert.deepEqual(Buffer.from(bytes), Buffer.from(expected));
  });

  it('writes a warning with no rejected spans', () => {
    const bytes = encodeExportResponse(0, 'slow down');
    assert.deepEqual(Buffer.from(bytes), Buffer.from(encodeReflected({ partialSuccess: { errorMessage: 'slow down' } })));
  });

  it('is read back by the OpenTelemetry SDK exporter', () => {
    const message = 'é'.repeat(200);
    const decoded = ProtobufTraceSerializer.deserializeResponse(encodeExportResponse(70000, message));
    assert.equal(Number(decoded.partialSuccess?.rejectedSpans), 70000);
    assert.equal(decoded.partialSuccess?.errorMessage, message);
  });
});

describe('decodeExportResponse', () => {
  it('reads an empty response as full success', () => {
    assert.deepEqual(decodeExportResponse(new Uint8Array(0)), { rejected: 0, message: '' });
  });

  it('round-trips any count and message', () => {
    fc.assert(
      fc.property(fc.nat(), fc.string({ unit: 'grapheme' }), (rejected, message) => {
        assert.deepEqual(decodeExportResponse(encodeExportResponse(rejected, message)), { rejected, message });
      }),
    );
  });

  it('skips unknown fields', () => {
    const known = encodeExportResponse(5, 'x');
    // Field 9 (varint 7) before, and field 15 (length 1) inside the partial success.
    const inner = Buffer.concat([Buffer.from(known.subarray(2)), Buffer.from([0x7a, 0x01, 0x41])]);
    const bytes = Buffer.concat([Buffer.from([0x48, 0x07, 0x0a, inner.length]), inner]);
    assert.deepEqual(decodeExportResponse(bytes), { rejected: 5, message: 'x' });
  });

  it('rejects a truncated response with its offset', () => {
    const bytes = encodeExportResponse(5, 'hello');
    assert.throws(
      () => decodeExportResponse(bytes.subarray(0, bytes.length - 2)),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_PROTO_MALFORMED');
        assert.equal(
          err.message,
          'ExportTraceServiceResponse: length 9 past the end of the message (7 bytes left) at byte 1',
        );
        return true;
      },
    );
  });

  it('rejects a partial success of the wrong wire type', () => {
    assert.throws(
      () => decodeExportResponse(Buffer.from([0x08, 0x01])),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_PROTO_MALFORMED');
        assert.match(err.message, /partial_success has wire type 0, expected 2/);
        return true;
      },
    );
  });

  it('refuses unknown groups nested beyond the limit', () => {
    assert.throws(
      () => decodeExportResponse(Buffer.alloc(50000, 0x13)),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_PROTO_MALFORMED');
        assert.equal(err.message, 'ExportTraceServiceResponse: groups nested deeper than 100 levels at byte 101');
        return true;
      },
    );
  });

  it('never fails on random bytes except as malformed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeExportResponse(bytes);
        } catch (err) {
          assert.equal((err as { code?: string }).code, 'ERR_PROTO_MALFORMED');
        }
      }),
    );
  });
});
