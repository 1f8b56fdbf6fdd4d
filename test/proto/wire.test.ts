import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';
import protobuf from 'protobufjs';

import { toDoubleText } from '../../proto/double-text';
import { ProtoWriter, varintSize } from '../../proto/proto-writer';
import { WireReader, toInt64Text, toUint64Text } from '../../proto/wire-reader';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

function halves(value: bigint): [number, number] {
  const u = BigInt.asUintN(64, value);
  return [Number(u & 0xffffffffn), Number(u >> 32n)];
}

describe('ProtoWriter', () => {
  it('writes varints, fixed and nested fields as protobufjs does', () => {
    fc.assert(
      fc.property(u64, fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.string(), fc.double(), (big, small, text, d) => {
        const ours = new ProtoWriter(8);
        const theirs = protobuf.Writer.create();
        ours.tag(1, 2);
        const mark = ours.begin();
        ours.varint64(big);
        ours.int32(small);
        ours.string(text);
        ours.fixed64(big);
        ours.double(d);
        ours.end(mark);
        theirs.uint32(0x0a).fork();
        theirs.uint64(big.toString()).int32(small).string(text).fixed64(big.toString()).double(d);
        theirs.ldelim();
        assert.deepEqual(Buffer.from(ours.finish()), Buffer.from(theirs.finish()));
      }),
    );
  });

  it('measures varints exactly', () => {
    for (const n of [0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 28, 2 ** 32 - 1, 2 ** 35, 2 ** 52]) {
      const w = new ProtoWriter();
      w.varint64(BigInt(n));
      assert.equal(varintSize(n), w.length, String(n));
    }
  });
});

describe('WireReader', () => {
  it('reads back 64-bit varints and their exact decimal text', () => {
    fc.assert(
      fc.property(u64, (value) => {
        const w = new ProtoWriter();
        w.varint64(value);
        const r = new WireReader(w.finish());
        r.varint64(w.length);
        assert.deepEqual([r.lo, r.hi], halves(value));
        assert.equal(toUint64Text(r.lo, r.hi), value.toString());
        assert.equal(toInt64Text(r.lo, r.hi), BigInt.asIntN(64, value).toString());
      }),
    );
  });

  it('reads the low 32 bits of a longer varint', () => {
    const w = new ProtoWriter();
    w.int32(-5);
    const r = new WireReader(w.finish());
    assert.equal(r.varint32(w.length) | 0, -5);
    assert.equal(r.pos, 10);
  });
});

describe('toDoubleText', () => {
  it('equals String() for any double', () => {
    const twoDecimals = fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map((n) => n / 100);
    const oneDecimal = fc.integer({ min: -(2 ** 34), max: 2 ** 34 }).map((n) => n / 10);
    fc.assert(
      fc.property(fc.oneof(fc.double(), twoDecimals, oneDecimal, fc.integer()), (x) => {
        assert.equal(toDoubleText(x), String(x));
      }),
      { numRuns: 20000 },
    );
    for (const x of [-0, 0.07, -0.07, 0.5, 1e-7, 21474836.47, -21474836.48, NaN, -Infinity]) {
      assert.equal(toDoubleText(x), String(x));
    }
  });
});
