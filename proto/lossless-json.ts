/**
 * JSON parsing that keeps 64-bit integers exact. JSON.parse turns
 * 12345678901234567890 into a rounded double, and Node 20 gives revivers no
 * access to the source text, so integers beyond 2^53 need a parser of our own.
 * Texts without such integers still go through JSON.parse, which is faster.
 */

import { BetraceError } from '../processor/errors';

/**
 * Arrays and objects nested deeper than this are refused by the exact parser
 * (it recurses), i.e. in texts that hold integers beyond 2^53.
 */
export const MAX_JSON_DEPTH = 1000;

// A number token of 16 or more integer digits can only follow the start of
// the text, a colon, a comma or a bracket. Inside strings the pattern may
// match too; that only sends the text down the exact (slower) path.
const LONG_INTEGER = /[:,[]\s*-?\d{16}/;
const LEADING_LONG_INTEGER = /^\s*-?\d{16}/;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Parses JSON like JSON.parse, except that integers outside ±(2^53 - 1)
 * written without fraction or exponent come back as bigint. Throws
 * ERR_PROTO_JSON_SYNTAX with the line and column of the first problem.
 */
export function parseLosslessJson(text: string): unknown {
  if (!LONG_INTEGER.test(text) && !LEADING_LONG_INTEGER.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // Fall through: the exact parser finds the same problem and says where.
    }
  }
  return new ExactParser(text).parseDocument();
}

/** Throws ERR_PROTO_JSON_SYNTAX for a problem at `offset` of `text`. */
function throwSyntax(text: string, offset: number, reason: string): never {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  throw new BetraceError(
    'ERR_PROTO_JSON_SYNTAX',
    `${reason} at line ${line}, column ${offset - lineStart + 1}`,
  );
}

function describeChar(text: string, offset: number): string {
  if (offset >= text.length) return 'unexpected end of input';
  const c = text.codePointAt(offset) as number;
  const shown =
    c < 0x20 || c === 0x7f
      ? `U+${c.toString(16).toUpperCase().padStart(4, '0')}`
      : JSON.stringify(String.fromCodePoint(c));
  return `unexpected character ${shown}`;
}

class ExactParser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parseDocument(): unknown {
    this.skipSpace();
    const value = this.parseValue(0);
    this.skipSpace();
    if (this.pos < this.text.length) this.fail('unexpected text after the JSON value');
    return value;
  }

  private fail(reason?: string): never {
    return throwSyntax(this.text, this.pos, reason ?? describeChar(this.text, this.pos));
  }

  private skipSpace(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  private parseValue(depth: number): unknown {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b: // {
        return this.parseObject(depth + 1);
      case 0x5b: // [
        return this.parseArray(depth + 1);
      case 0x22: // "
        return this.parseString();
      case 0x74: // t
        return this.parseWord('true', true);
      case 0x66: // f
        return this.parseWord('false', false);
      case 0x6e: // n
        return this.parseWord('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
        return this.fail();
    }
  }

  private parseWord(word: string, value: unknown): unknown {
    if (!this.text.startsWith(word, this.pos)) {
      // Point at the first character that differs.
      let i = 0;
      while (i < word.length && this.text.charCodeAt(this.pos + i) === word.charCodeAt(i)) i++;
      this.pos += i;
      return this.fail();
    }
    this.pos += word.length;
    return value;
  }

  private parseObject(depth: number): Record<string, unknown> {
    if (depth > MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    const out: Record<string, unknown> = {};
    this.pos++;
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail();
      const key = this.parseString();
      this.skipSpace();
      if (this.text.charCodeAt(this.pos) !== 0x3a) this.fail();
      this.pos++;
      this.skipSpace();
      const value = this.parseValue(depth);
      // A plain assignment to "__proto__" would replace the prototype;
      // JSON.parse makes it an own property, and so do we.
      if (key === '__proto__') {
        Object.defineProperty(out, key, {
          value,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      } else {
        out[key] = value;
      }
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        this.skipSpace();
      } else if (c === 0x7d) {
        this.pos++;
        return out;
      } else {
        this.fail();
      }
    }
  }

  private parseArray(depth: number): unknown[] {
    if (depth > MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    const out: unknown[] = [];
    this.pos++;
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.parseValue(depth));
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        this.skipSpace();
      } else if (c === 0x5d) {
        this.pos++;
        return out;
      } else {
        this.fail();
      }
    }
  }

  private parseString(): string {
    const t = this.text;
    const start = this.pos + 1;
    let p = start;
    // Fast scan: most strings have no escapes and end at the next quote.
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        this.pos = p + 1;
        return t.slice(start, p);
      }
      if (c === 0x5c || c < 0x20 || p >= t.length) break;
      p++;
    }
    let out = t.slice(start, p);
    for (;;) {
      if (p >= t.length) {
        this.pos = p;
        this.fail('unterminated string');
      }
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        this.pos = p + 1;
        return out;
      }
      if (c < 0x20) {
        this.pos = p;
        this.fail('control character in a string');
      }
      if (c !== 0x5c) {
        const next = nextSpecial(t, p);
        out += t.slice(p, next);
        p = next;
        continue;
      }
      const e = t.charCodeAt(p + 1);
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += '\\'; break;
        case 0x2f: out += '/'; break;
        case 0x62: out += '\b'; break;
        case 0x66: out += '\f'; break;
        case 0x6e: out += '\n'; break;
        case 0x72: out += '\r'; break;
        case 0x74: out += '\t'; break;
        case 0x75: {
          const hex = t.slice(p + 2, p + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            this.pos = p;
            this.fail('bad \\u escape');
          }
          out += String.fromCharCode(parseInt(hex, 16));
          p += 4;
          break;
        }
        default:
          this.pos = p;
          this.fail('bad escape in a string');
      }
      p += 2;
    }
  }

  private parseNumber(): number | bigint {
    const t = this.text;
    const start = this.pos;
    let p = start;
    if (t.charCodeAt(p) === 0x2d) p++;
    const intStart = p;
    if (t.charCodeAt(p) === 0x30) p++;
    else if (isDigit(t.charCodeAt(p))) while (isDigit(t.charCodeAt(p))) p++;
    else {
      this.pos = p;
      this.fail();
    }
    const intDigits = p - intStart;
    let integer = true;
    if (t.charCodeAt(p) === 0x2e) {
      integer = false;
      p++;
      if (!isDigit(t.charCodeAt(p))) {
        this.pos = p;
        this.fail();
      }
      while (isDigit(t.charCodeAt(p))) p++;
    }
    const e = t.charCodeAt(p);
    if (e === 0x65 || e === 0x45) {
      integer = false;
      p++;
      const s = t.charCodeAt(p);
      if (s === 0x2b || s === 0x2d) p++;
      if (!isDigit(t.charCodeAt(p))) {
        this.pos = p;
        this.fail();
      }
      while (isDigit(t.charCodeAt(p))) p++;
    }
    this.pos = p;
    const token = t.slice(start, p);
    if (integer && intDigits >= 16) {
      const big = BigInt(token);
      if (big > MAX_SAFE || big < -MAX_SAFE) return big;
    }
    return Number(token);
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function nextSpecial(t: string, from: number): number {
  let p = from;
  for (;;) {
    const c = t.charCodeAt(p);
    if (c === 0x22 || c === 0x5c || c < 0x20 || p >= t.length) return p;
    p++;
  }
}
