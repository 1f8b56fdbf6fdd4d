/**
 * OTLP/JSON ExportTraceServiceRequest to protobuf and back, without loss:
 * every field of every message, 64-bit integers exact, NaN and infinities
 * kept. The JSON side follows the proto3 JSON mapping as OTLP restricts it
 * (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): hex
 * trace and span IDs, lowerCamelCase names (proto names accepted too), enums
 * as numbers or names, unknown fields ignored.
 */

import { isUtf8 } from 'node:buffer';

import { BetraceError } from '../processor/errors';
import { parseLosslessJson } from './lossless-json';
import { MAX_MESSAGE_DEPTH, OTLP_MESSAGES, wireTypeOf } from './otlp-schema';
import { ProtoWriter } from './proto-writer';
import { WireReader, toInt64Text, toUint64Text, withPath } from './wire-reader';

import type { FieldSpec, MessageSpec } from './otlp-schema';

export { parseLosslessJson } from './lossless-json';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const UINT32_MAX = 0xffffffff;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

const REQUEST = OTLP_MESSAGES.ExportTraceServiceRequest;
const ANY_VALUE = OTLP_MESSAGES.AnyValue;

type JsonObject = Record<string, unknown>;
type PathPart = string | number;

/**
 * Parses an OTLP/JSON export request (text, or UTF-8 bytes) and encodes it
 * as protobuf. Throws ERR_PROTO_JSON_SYNTAX (line and column) or
 * ERR_PROTO_JSON_FIELD (field path). Bytes that are not valid UTF-8 inside
 * a string are carried over as they are, so that the span decoder refuses
 * exactly the spans that hold them.
 */
export function otlpJsonToProtobuf(text: string | Uint8Array): Uint8Array {
  const source = toText(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    // The exact parser finds the same problem and says where.
    return encodeRequest(parseLosslessJson(source), true);
  }
  try {
    return encodeRequest(parsed, false);
  } catch (err) {
    // Only an integer field given as a number beyond 2^53 needs the exact
    // parser; checking that on the way saves a scan of every text.
    if (err !== NEEDS_EXACT) throw err;
    return encodeRequest(parseLosslessJson(source), true);
  }
}

/**
 * Encodes an already parsed OTLP/JSON export request, as parseLosslessJson
 * returns it (bigint accepted wherever an integer is; numbers are taken as
 * they are). Throws ERR_PROTO_JSON_FIELD naming the field path.
 */
export function encodeOtlpJsonValue(request: unknown): Uint8Array {
  return encodeRequest(request, true);
}

function encodeRequest(request: unknown, exact: boolean): Uint8Array {
  const encoder = new JsonToProto(exact);
  encoder.message(REQUEST, request, 0);
  return encoder.w.finish();
}

/**
 * Decodes a protobuf export request into OTLP/JSON text: hex IDs, 64-bit
 * integers as strings, enums as numbers, default values left out. Unknown
 * fields are dropped. Throws ERR_PROTO_MALFORMED when the bytes do not parse.
 */
export function protobufToOtlpJson(bytes: Uint8Array): string {
  const reader = new WireReader(bytes);
  const out: JsonObject = {};
  const path: PathPart[] = [];
  try {
    readMessage(reader, REQUEST, bytes.length, out, path, 0);
  } catch (err) {
    throw withPath(err, formatPath(path));
  }
  return JSON.stringify(out);
}

function toText(input: string | Uint8Array): string {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    text = isUtf8(buf) ? buf.toString('utf8') : decodeKeepingInvalid(buf);
  }
  // RFC 8259 lets a parser ignore a byte order mark; JSON.parse does not.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function formatPath(path: readonly PathPart[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
    return `a string ${JSON.stringify(shown)}`;
  }
  return `${typeof value === 'bigint' ? 'number' : typeof value} ${String(value)}`;
}

/**
 * Thrown by the encoder when JSON.parse may have rounded an integer; the
 * text is then parsed again exactly.
 */
const NEEDS_EXACT = Symbol('needs exact parse');

class JsonToProto {
  readonly w = new ProtoWriter(4096);
  private readonly path: PathPart[] = [];
  /** Per nesting depth, the values found for each field of the message there. */
  private readonly found: unknown[][] = [];
  private readonly foundNames: string[][] = [];

  /**
   * @param exact whether numbers came from the exact parser; if not, an
   *   integer field holding a number beyond 2^53 asks for a re-parse.
   */
  constructor(private readonly exact: boolean) {}

  fail(reason: string): never {
    const where = formatPath(this.path) || 'request';
    throw new BetraceError('ERR_PROTO_JSON_FIELD', `${where}: ${reason}`);
  }

  message(spec: MessageSpec, value: unknown, depth: number): void {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.fail(`expected an object, got ${typeName(value)}`);
    }
    if (depth > MAX_MESSAGE_DEPTH) {
      this.fail(`messages nested deeper than ${MAX_MESSAGE_DEPTH} levels`);
    }
    const obj = value as JsonObject;
    const fields = spec.fields;
    const found = (this.found[depth] ??= []);
    const names = (this.foundNames[depth] ??= []);
    // Walking the object's own keys (rather than probing every field name)
    // keeps property access cheap; values are then written in field order.
    let count = 0;
    for (const key in obj) {
      const f = spec.byName.get(key);
      if (f === undefined) continue;
      const v = obj[key];
      if (v === null || v === undefined) continue;
      if (found[f.index] !== undefined) {
        this.clear(found, fields.length);
        this.path.push(f.proto);
        this.fail(`given twice, as "${f.json}" and "${f.proto}"`);
      }
      found[f.index] = v;
      names[f.index] = key;
      count++;
    }
    if (spec === ANY_VALUE && count > 1) {
      const given = fields.filter((f) => found[f.index] !== undefined).map((f) => names[f.index]);
      this.clear(found, fields.length);
      this.fail(`more than one value given ("${given[0]}" and "${given[1]}")`);
    }
    for (let i = 0; count > 0 && i < fields.length; i++) {
      const v = found[i];
      if (v === undefined) continue;
      found[i] = undefined;
      count--;
      const f = fields[i];
      this.path.push(names[i]);
      if (f.repeated) {
        if (!Array.isArray(v)) this.fail(`expected an array, got ${typeName(v)}`);
        for (let j = 0; j < v.length; j++) {
          this.path.push(j);
          if (v[j] === null || v[j] === undefined) this.fail('expected a value, got null');
          this.field(f, v[j], depth);
          this.path.pop();
        }
      } else {
        this.field(f, v, depth);
      }
      this.path.pop();
    }
  }

  private clear(found: unknown[], n: number): void {
    for (let i = 0; i < n; i++) found[i] = undefined;
  }

  private field(f: FieldSpec, v: unknown, depth: number): void {
    const w = this.w;
    switch (f.kind) {
      case 'message': {
        w.uint32(f.key);
        const mark = w.begin();
        this.message(f.message as MessageSpec, v, depth + 1);
        w.end(mark);
        return;
      }
      case 'string': {
        if (typeof v !== 'string') this.fail(`expected a string, got ${typeName(v)}`);
        if (v === '' && !f.keepDefault) return;
        w.uint32(f.key);
        writeString(w, v);
        return;
      }
      case 'traceId':
        return this.id(f, v, 32, false);
      case 'spanId':
        return this.id(f, v, 16, false);
      case 'parentSpanId':
        return this.id(f, v, 16, true);
      case 'bytes': {
        const bytes = this.base64(v);
        if (bytes.length === 0 && !f.keepDefault) return;
        w.uint32(f.key);
        w.bytes(bytes);
        return;
      }
      case 'bool': {
        if (typeof v !== 'boolean') this.fail(`expected true or false, got ${typeName(v)}`);
        if (!v && !f.keepDefault) return;
        w.uint32(f.key);
        w.uint32(v ? 1 : 0);
        return;
      }
      case 'int64': {
        const n = this.integer(v, INT64_MIN, INT64_MAX, 'a 64-bit integer');
        if (n === 0n && !f.keepDefault) return;
        w.uint32(f.key);
        w.varint64(n);
        return;
      }
      case 'fixed64': {
        const n = this.integer(v, 0n, UINT64_MAX, 'an unsigned 64-bit integer');
        if (n === 0n && !f.keepDefault) return;
        w.uint32(f.key);
        w.fixed64(n);
        return;
      }
      case 'uint32':
      case 'fixed32': {
        const n = this.smallInteger(v, 0, UINT32_MAX, 'an unsigned 32-bit integer');
        if (n === 0 && !f.keepDefault) return;
        w.uint32(f.key);
        if (f.kind === 'uint32') w.uint32(n);
        else w.fixed32(n);
        return;
      }
      case 'enum': {
        const n = this.enumValue(f, v);
        if (n === 0 && !f.keepDefault) return;
        w.uint32(f.key);
        w.int32(n);
        return;
      }
      case 'double': {
        const n = this.double(v);
        // -0 is not the default: its bits differ from 0's.
        if (n === 0 && !Object.is(n, -0) && !f.keepDefault) return;
        w.uint32(f.key);
        w.double(n);
        return;
      }
    }
  }

  private id(f: FieldSpec, v: unknown, hexLength: number, emptyAllowed: boolean): void {
    if (typeof v === 'string') {
      if (v.length === 0 && emptyAllowed) return;
      if (v.length === hexLength && isHex(v)) {
        this.w.uint32(f.key);
        this.w.hexBytes(v);
        return;
      }
    }
    const wanted = `${hexLength} hex characters${emptyAllowed ? ' or an empty string' : ''}`;
    if (typeof v !== 'string') this.fail(`expected ${wanted}, got ${typeName(v)}`);
    if (isHex(v)) this.fail(`expected ${wanted}, got ${v.length}`);
    if (isBase64(v) && Buffer.from(v, 'base64').length === hexLength / 2) {
      this.fail(`expected ${wanted}, got base64`);
    }
    this.fail(`expected ${wanted}, got ${typeName(v)}`);
  }

  private base64(v: unknown): Buffer {
    if (typeof v !== 'string' || !isBase64(v)) this.fail(`expected base64, got ${typeName(v)}`);
    return Buffer.from(v, 'base64');
  }

  private integer(v: unknown, min: bigint, max: bigint, what: string): bigint {
    let n: bigint;
    if (typeof v === 'bigint') n = v;
    else if (typeof v === 'number' && Number.isInteger(v)) {
      if (!this.exact && !Number.isSafeInteger(v)) throw NEEDS_EXACT;
      n = BigInt(v);
    }
    else if (typeof v === 'string' && /^-?[0-9]+$/.test(v)) n = BigInt(v);
    else return this.fail(`expected ${what}, got ${typeName(v)}`);
    if (n < min || n > max) this.fail(`expected ${what}, got ${n} (out of range)`);
    return n;
  }

  private smallInteger(v: unknown, min: number, max: number, what: string): number {
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    return Number(this.integer(v, BigInt(min), BigInt(max), what));
  }

  private enumValue(f: FieldSpec, v: unknown): number {
    if (typeof v === 'string') {
      const n = (f.enumValues as Record<string, number>)[v];
      if (n !== undefined && Object.prototype.hasOwnProperty.call(f.enumValues, v)) return n;
      const names = Object.keys(f.enumValues as object).join(', ');
      this.fail(`expected a number or one of ${names}, got ${typeName(v)}`);
    }
    return this.smallInteger(v, INT32_MIN, INT32_MAX, 'a 32-bit integer or an enum name');
  }

  private double(v: unknown): number {
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    if (typeof v === 'string') {
      if (v === 'NaN') return NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      // proto3 JSON also allows a number written as a string.
      if (/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(v)) return Number(v);
    }
    return this.fail(`expected a number, "NaN", "Infinity" or "-Infinity", got ${typeName(v)}`);
  }
}

function isHex(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const digit = c >= 0x30 && c <= 0x39;
    if (!digit && !(c >= 0x61 && c <= 0x66) && !(c >= 0x41 && c <= 0x46)) return false;
  }
  return true;
}

function isBase64(s: string): boolean {
  // Standard or URL-safe alphabet, padded or not (proto3 JSON accepts both).
  const alphabet = /^[A-Za-z0-9+/]*={0,2}$/.test(s) || /^[A-Za-z0-9_-]*={0,2}$/.test(s);
  return alphabet && s.length % 4 !== 1;
}

interface MaybeWellFormed {
  isWellFormed?(): boolean;
}

function writeString(w: ProtoWriter, s: string): void {
  const check = (s as unknown as MaybeWellFormed).isWellFormed;
  if (check === undefined || check.call(s)) w.string(s);
  else w.bytes(encodeLoose(s));
}

/**
 * UTF-8 that keeps lone surrogates invalid instead of replacing them:
 * U+DC80..U+DCFF become the single byte they stand for (see
 * decodeKeepingInvalid), other lone surrogates their 3-byte form.
 */
function encodeLoose(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out.push(
          0xf0 | (c >> 18),
          0x80 | ((c >> 12) & 0x3f),
          0x80 | ((c >> 6) & 0x3f),
          0x80 | (c & 0x3f),
        );
        continue;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c >= 0xdc80 && c <= 0xdcff) out.push(c - 0xdc00);
    else out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Buffer.from(out);
}

/**
 * Decodes UTF-8 turning each byte that is not part of a valid sequence into
 * the lone surrogate U+DC00 + byte, so that encodeLoose can restore it.
 */
function decodeKeepingInvalid(b: Uint8Array): string {
  const units: number[] = [];
  let out = '';
  const n = b.length;
  for (let i = 0; i < n; ) {
    const c = b[i];
    let need = 0;
    let min = 0x80;
    let max = 0xbf;
    if (c < 0x80) {
      units.push(c);
      i++;
    } else {
      if (c >= 0xc2 && c <= 0xdf) need = 1;
      else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c === 0xe0) min = 0xa0;
        if (c === 0xed) max = 0x9f;
      } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c === 0xf0) min = 0x90;
        if (c === 0xf4) max = 0x8f;
      }
      let ok = need > 0 && i + need < n + 1;
      for (let k = 1; ok && k <= need; k++) {
        const d = b[i + k];
        const lo = k === 1 ? min : 0x80;
        const hi = k === 1 ? max : 0xbf;
        if (d === undefined || d < lo || d > hi) ok = false;
      }
      if (!ok) {
        units.push(0xdc00 + c);
        i++;
      } else {
        let cp = c & (0x3f >> need);
        for (let k = 1; k <= need; k++) cp = (cp << 6) | (b[i + k] & 0x3f);
        if (cp >= 0x10000) {
          cp -= 0x10000;
          units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
        } else {
          units.push(cp);
        }
        i += need + 1;
      }
    }
    if (units.length >= 8192) {
      out += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return out + String.fromCharCode(...units);
}

function readMessage(
  r: WireReader,
  spec: MessageSpec,
  end: number,
  out: JsonObject,
  path: PathPart[],
  depth: number,
): void {
  if (depth > MAX_MESSAGE_DEPTH) {
    throw new BetraceError(
      'ERR_PROTO_MALFORMED',
      `messages nested deeper than ${MAX_MESSAGE_DEPTH} levels at byte ${r.pos}`,
    );
  }
  for (let key = r.tag(end); key !== 0; key = r.tag(end)) {
    const f = spec.byNumber[key >>> 3];
    if (f === undefined) {
      r.skip(key, end);
      continue;
    }
    path.push(f.json);
    const wireType = wireTypeOf(f.kind);
    if ((key & 7) !== wireType) r.wrongType(key, `${spec.name}.${f.proto}`, wireType);
    if (f.oneof) {
      for (const other of spec.fields) if (other !== f) delete out[other.json];
    }
    if (f.kind === 'message') {
      const bodyEnd = r.lengthEnd(end);
      const target = f.message as MessageSpec;
      if (f.repeated) {
        const list = (out[f.json] ?? (out[f.json] = [])) as JsonObject[];
        const item: JsonObject = {};
        path.push(list.length);
        list.push(item);
        readMessage(r, target, bodyEnd, item, path, depth + 1);
        path.pop();
      } else {
        // A message field that occurs twice merges, as protobuf requires.
        const existing = out[f.json] as JsonObject | undefined;
        const item = existing ?? {};
        out[f.json] = item;
        readMessage(r, target, bodyEnd, item, path, depth + 1);
      }
      r.pos = bodyEnd;
    } else {
      const value = readScalar(r, f, end);
      if (f.repeated) ((out[f.json] ?? (out[f.json] = [])) as unknown[]).push(value);
      else if (f.oneof || !isDefault(f, value)) out[f.json] = value;
      else delete out[f.json];
    }
    path.pop();
  }
}

function isDefault(f: FieldSpec, value: unknown): boolean {
  if (f.kind === 'int64' || f.kind === 'fixed64') return value === '0';
  return value === '' || value === 0 || value === false;
}

function readScalar(r: WireReader, f: FieldSpec, end: number): unknown {
  const buf = r.buf;
  switch (f.kind) {
    case 'string':
    case 'bytes':
    case 'traceId':
    case 'spanId':
    case 'parentSpanId': {
      const bodyEnd = r.lengthEnd(end);
      const view = Buffer.from(buf.buffer, buf.byteOffset + r.pos, bodyEnd - r.pos);
      r.pos = bodyEnd;
      if (f.kind === 'string') return view.toString('utf8');
      if (f.kind === 'bytes') return view.toString('base64');
      return view.toString('hex');
    }
    case 'bool':
      r.varint64(end);
      return r.lo !== 0 || r.hi !== 0;
    case 'int64':
      r.varint64(end);
      return toInt64Text(r.lo, r.hi);
    case 'uint32':
      return r.varint32(end);
    case 'enum':
      return r.varint32(end) | 0;
    case 'fixed64':
      r.fixed64(end);
      return toUint64Text(r.lo, r.hi);
    case 'fixed32':
      return r.fixed32(end);
    case 'double': {
      const d = r.double(end);
      return Number.isFinite(d) ? d : String(d);
    }
    default:
      throw new Error(`unhandled field kind ${f.kind}`);
  }
}
