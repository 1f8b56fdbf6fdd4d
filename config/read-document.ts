/**
 * Walks a parsed YAML document against the schema and writes every valid
 * value into a copy of the defaults, converting units on the way. Problems
 * become diagnostics with the YAML path and the line and column of the
 * offending key or value; the walk goes on after each one so that a file's
 * problems are all reported at once.
 */

import path from 'node:path';

import { isAlias, isMap, isScalar, isSeq } from 'yaml';

import { DurationBelowMinimumError, parseDuration } from './duration';
import { parseEndpoint } from './endpoint';
import { MAX_DURATION_MS, CONFIG_SCHEMA } from './schema';
import { suggestClosest } from './suggest';

import type { Document, LineCounter } from 'yaml';

import type { ConfigDiagnostic, ConfigErrorCode } from './errors';
import type { LeafKind, SchemaNode, SchemaObject } from './schema';

/** A place in the config file; both start at 1. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** What the walk found besides the values it wrote. */
export interface DocumentReading {
  readonly diagnostics: ConfigDiagnostic[];
  /** Where each key's value is, by YAML path; a key missing here is absent from the file. */
  readonly positions: Map<string, Position>;
  /** YAML paths whose values were rejected; their defaults stay in place. */
  readonly rejected: Set<string>;
}

export interface ReadOptions {
  /** The file name that diagnostics carry. */
  readonly file: string;
  /** The folder relative paths are resolved against. */
  readonly baseDir: string;
}

const MIB = 1024 * 1024;
const INVALID = Symbol('invalid');
// An HTTP header name (RFC 9110 token); gRPC metadata keys are a subset once lower-cased.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Characters a header value cannot carry (RFC 9110 field values: no controls but tab). */
const HEADER_VALUE_FORBIDDEN = /[\u0000-\u0008\u000a-\u001f\u007f]/;

type Target = Record<string, unknown>;

/**
 * Reads `doc` into `target`, which must be a mutable copy of the defaults
 * (createDefaultConfig()); returns the diagnostics and the value positions.
 */
export function readConfigDocument(
  doc: Document.Parsed,
  lineCounter: LineCounter,
  target: Target,
  options: ReadOptions,
): DocumentReading {
  const reader = new DocumentReader(doc, lineCounter, options);
  reader.readObject(doc.contents, CONFIG_SCHEMA, target, { at: '', where: { line: 1, column: 1 } });
  const { diagnostics, positions, rejected } = reader;
  return { diagnostics, positions, rejected };
}

/** A YAML path and the place of its value, carried together through the walk. */
interface Site {
  readonly at: string;
  readonly where: Position;
}

class DocumentReader {
  readonly diagnostics: ConfigDiagnostic[] = [];
  readonly positions = new Map<string, Position>();
  readonly rejected = new Set<string>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly lineCounter: LineCounter,
    private readonly options: ReadOptions,
  ) {}

  readObject(raw: unknown, schema: SchemaObject, target: Target, site: Site): void {
    const node = this.resolve(raw);
    if (isNull(node)) return;

    if (!isMap(node)) {
      const what = site.at === '' ? 'the config' : 'the value';
      const where = this.positionOf(node) ?? site.where;
      this.fail('ERR_CONFIG_BAD_TYPE', { at: site.at, where },
        `${what} must be a mapping of keys to values, not ${describe(node)}`);
      return;
    }

    const seen = new Map<string, Position>();
    for (const pair of node.items) {
      const keyPos = this.positionOf(pair.key) ?? site.where;
      const key = this.keyText(pair.key, { at: site.at, where: keyPos });
      if (key === undefined) continue;
      const keySite = { at: site.at === '' ? key : `${site.at}.${key}`, where: keyPos };
      const firstPos = seen.get(key);
      if (firstPos !== undefined) {
        this.report('ERR_CONFIG_DUPLICATE_KEY', keySite,
          `key "${key}" appears twice in the same mapping (first on line ${firstPos.line})`);
        continue;
      }
      seen.set(key, keyPos);

      const child = Object.hasOwn(schema.keys, key) ? schema.keys[key] : undefined;
      if (child === undefined) {
        this.report('ERR_CONFIG_UNKNOWN_KEY', keySite, unknownKeyMessage(key, schema));
        continue;
      }
      const valueSite = { at: keySite.at, where: this.positionOf(pair.value) ?? keyPos };
      this.positions.set(valueSite.at, valueSite.where);
      this.readChild(pair.value, child, target, valueSite);
    }
  }

  private readChild(raw: unknown, child: SchemaNode, target: Target, site: Site): void {
    if (child.kind === 'object') {
      const nested = child.field === null ? target : (target[child.field] as Target);
      this.readObject(raw, child, nested, site);
      return;
    }
    const value = this.readLeaf(this.resolve(raw), child.value, site);
    if (value !== INVALID) target[child.field] = value;
  }

  private readLeaf(node: unknown, kind: LeafKind, site: Site): unknown {
    const value = scalarValue(node);
    if (value === null && kind.type !== 'headers' && kind.type !== 'path-list') {
      return this.fail('ERR_CONFIG_BAD_TYPE', site, 'has no value (remove the key to keep its default)');
    }
    const seen = describe(node);
    switch (kind.type) {
      case 'boolean':
        if (typeof value === 'boolean') return value;
        return this.fail('ERR_CONFIG_BAD_TYPE', site, `must be true or false, not ${seen}`);
      case 'integer':
        return this.readInteger(value, kind.min, seen, site);
      case 'mib':
        return this.readMib(value, kind.maxMib, seen, site);
      case 'duration':
        return this.readDuration(value, kind.allowZero, seen, site);
      case 'enum':
        return this.readEnum(value, kind.values, seen, site);
      case 'string':
      case 'dial-endpoint':
        if (typeof value === 'string') return value;
        return this.fail('ERR_CONFIG_BAD_TYPE', site,
          `must be a string, not ${seen}${quoteHint(value)}`);
      case 'listen-endpoint':
        return this.readListenEndpoint(value, seen, site);
      case 'path':
        if (typeof value !== 'string') {
          return this.fail('ERR_CONFIG_BAD_TYPE', site, `must be a file path, not ${seen}`);
        }
        return value === '' ? '' : path.resolve(this.options.baseDir, value);
      case 'path-list':
        return this.readPathList(node, site);
      case 'headers':
        return this.readHeaders(node, site);
      case 'redis-url':
        return this.readRedisUrl(value, seen, site);
    }
  }

  private readInteger(value: unknown, min: number, seen: string, site: Site): unknown {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      return this.fail('ERR_CONFIG_BAD_TYPE', site, `must be a whole number, not ${seen}`);
    }
    if (value < min) {
      return this.fail('ERR_CONFIG_OUT_OF_RANGE', site, `must be at least ${min}, not ${value}`);
    }
    if (!Number.isSafeInteger(value)) {
      return this.fail('ERR_CONFIG_OUT_OF_RANGE', site,
        `must be at most ${Number.MAX_SAFE_INTEGER}, not ${value}`);
    }
    return value;
  }

  private readMib(value: unknown, maxMib: number, seen: string, site: Site): unknown {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return this.fail('ERR_CONFIG_BAD_TYPE', site,
        `must be a number of MiB (fractions allowed, e.g. 0.5), not ${seen}`);
    }
    if (value <= 0) {
      return this.fail('ERR_CONFIG_OUT_OF_RANGE', site, `must be more than 0 MiB, not ${value}`);
    }
    if (value > maxMib) {
      return this.fail('ERR_CONFIG_OUT_OF_RANGE', site, `must be at most ${maxMib} MiB, not ${value}`);
    }
    return Math.max(1, Math.floor(value * MIB));
  }

  private readDuration(value: unknown, allowZero: boolean, seen: string, site: Site): unknown {
    if (typeof value !== 'string' && typeof value !== 'number') {
      return this.fail('ERR_CONFIG_BAD_TYPE', site,
        `must be a duration such as "5s" or "250ms", not ${seen}`);
    }
    const text = String(value);
    let ms: number;
    try {
      ms = parseDuration(text);
    } catch (err) {
      // Only keys that take zero can be told to write it.
      const tooShort = allowZero && err instanceof DurationBelowMinimumError;
      return this.fail('ERR_CONFIG_BAD_DURATION', site, `${(err as Error).message}${tooShort ? ' (write "0s" for none)' : ''}`);
    }
    if (ms === 0 && !allowZero) {
      return this.fail('ERR_CONFIG_OUT_OF_RANGE', site, `must be more than 0, not "${text}"`);
    }
    if (ms > MAX_DURATION_MS) {
      return this.fail('ERR_CONFIG_OUT_OF_RANGE', site,
        `must be at most ${MAX_DURATION_MS}ms (about 24.8 days), not "${text}"`);
    }
    return ms;
  }

  private readEnum(value: unknown, values: readonly string[], seen: string, site: Site): unknown {
    if (typeof value === 'string' && values.includes(value)) return value;
    const choices = values.map((v) => `"${v}"`).join(', ');
    const close = typeof value === 'string' ? suggestClosest(value, values) : undefined;
    const hint = close === undefined ? '' : ` (did you mean "${close}"?)`;
    return this.fail('ERR_CONFIG_BAD_ENUM', site, `must be one of ${choices}, not ${seen}${hint}`);
  }

  private readListenEndpoint(value: unknown, seen: string, site: Site): unknown {
    if (typeof value !== 'string') {
      return this.fail('ERR_CONFIG_BAD_TYPE', site, `must be host:port, not ${seen}`);
    }
    try {
      parseEndpoint(value);
    } catch (err) {
      return this.fail('ERR_CONFIG_BAD_ENDPOINT', site, (err as Error).message);
    }
    return value;
  }

  private readPathList(node: unknown, site: Site): unknown {
    if (isNull(node)) return [];
    if (!isSeq(node)) {
      return this.fail('ERR_CONFIG_BAD_TYPE', site,
        `must be a list of paths or glob patterns (e.g. [rules/*.yaml]), not ${describe(node)}`);
    }
    const resolved: string[] = [];
    let ok = true;
    node.items.forEach((rawItem, index) => {
      const item = this.resolve(rawItem);
      const itemSite = { at: `${site.at}[${index}]`, where: this.positionOf(item) ?? site.where };
      const value = scalarValue(item);
      if (typeof value !== 'string') {
        ok = false;
        this.fail('ERR_CONFIG_BAD_TYPE', itemSite,
          `must be a path or glob pattern, not ${describe(item)}`);
      } else if (value === '') {
        ok = false;
        this.fail('ERR_CONFIG_BAD_VALUE', itemSite, 'must not be empty');
      } else {
        resolved.push(path.resolve(this.options.baseDir, value));
      }
    });
    if (!ok) this.rejected.add(site.at);
    return ok ? resolved : INVALID;
  }

  private readHeaders(node: unknown, site: Site): unknown {
    if (isNull(node)) return {};
    if (!isMap(node)) {
      return this.fail('ERR_CONFIG_BAD_TYPE', site,
        `must be a mapping of header names to values, not ${describe(node)}`);
    }
    const headers: Record<string, string> = {};
    const seen = new Set<string>();
    let ok = true;
    for (const pair of node.items) {
      const keyPos = this.positionOf(pair.key) ?? site.where;
      const name = this.keyText(pair.key, { at: site.at, where: keyPos });
      if (name === undefined) {
        ok = false;
        continue;
      }
      const keySite = { at: `${site.at}.${name}`, where: keyPos };
      const valueNode = this.resolve(pair.value);
      const value = scalarValue(valueNode);
      if (!HEADER_NAME.test(name)) {
        ok = false;
        this.report('ERR_CONFIG_BAD_VALUE', keySite, `"${name}" is not a valid header name`);
      } else if (seen.has(name.toLowerCase())) {
        ok = false;
        this.report('ERR_CONFIG_DUPLICATE_KEY', keySite,
          `header "${name}" appears twice (header names ignore case)`);
      } else if (typeof value !== 'string') {
        ok = false;
        const valueSite = { at: keySite.at, where: this.positionOf(valueNode) ?? keyPos };
        this.report('ERR_CONFIG_BAD_TYPE', valueSite,
          `must be a string, not ${describe(valueNode)}${quoteHint(value)}`);
      } else if (HEADER_VALUE_FORBIDDEN.test(value)) {
        ok = false;
        const valueSite = { at: keySite.at, where: this.positionOf(valueNode) ?? keyPos };
        const bad = value.charCodeAt(value.search(HEADER_VALUE_FORBIDDEN));
        this.report('ERR_CONFIG_BAD_VALUE', valueSite,
          `header "${name}" holds the control character U+${bad.toString(16).toUpperCase().padStart(4, '0')}, which no HTTP or gRPC header may carry`);
      } else {
        headers[name] = value;
      }
      seen.add(name.toLowerCase());
    }
    if (!ok) this.rejected.add(site.at);
    return ok ? headers : INVALID;
  }

  private readRedisUrl(value: unknown, seen: string, site: Site): unknown {
    if (typeof value !== 'string') {
      return this.fail('ERR_CONFIG_BAD_TYPE', site, `must be a redis:// URL, not ${seen}`);
    }
    for (const part of value.split(',')) {
      const url = part.trim();
      const problem = redisUrlProblem(url);
      if (problem !== '') {
        return this.fail('ERR_CONFIG_BAD_VALUE', site, `"${url}" ${problem} (several URLs are separated by commas)`);
      }
    }
    return value;
  }

  /** A mapping key as text; reports keys that are not plain scalars. */
  private keyText(raw: unknown, site: Site): string | undefined {
    const key = this.resolve(raw);
    const value = scalarValue(key);
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      return String(value);
    }
    this.report('ERR_CONFIG_BAD_TYPE', site, `keys must be plain names, not ${describe(key)}`);
    return undefined;
  }

  private resolve(raw: unknown): unknown {
    // An alias whose anchor is missing resolves to undefined; the parser reports that one.
    return isAlias(raw) ? raw.resolve(this.doc) : raw;
  }

  private positionOf(node: unknown): Position | undefined {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (range === undefined) return undefined;
    const { line, col } = this.lineCounter.linePos(range[0]);
    return { line, column: col };
  }

  /** Reports a rejected value, so that checks across keys leave it alone. */
  private fail(code: ConfigErrorCode, site: Site, message: string): typeof INVALID {
    this.rejected.add(site.at);
    this.report(code, site, message);
    return INVALID;
  }

  private report(code: ConfigErrorCode, site: Site, message: string): void {
    const { file } = this.options;
    this.diagnostics.push({
      code, message, path: site.at, file, line: site.where.line, column: site.where.column,
    });
  }
}

/** What is wrong with a `buffer.redis.url` part; '' when nothing is. */
function redisUrlProblem(text: string): string {
  const notUrl = 'is not a redis:// or rediss:// URL with a host';
  const port = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)(?:[/?#]|$)/i.exec(text)?.[1];
  if (port !== undefined && Number(port) > 65535) return `has port ${port}, which is over 65535`;
  try {
    const url = new URL(text);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '' ? '' : notUrl;
  } catch {
    return notUrl;
  }
}

function unknownKeyMessage(key: string, schema: SchemaObject): string {
  const close = suggestClosest(key, Object.keys(schema.keys)) ?? findNested(key, schema);
  const hint = close === undefined ? '' : ` (did you mean "${close}"?)`;
  return `unknown key "${key}"${hint}`;
}

/** A key of that name one or two levels down, for a level left out (`otlp.grpc`). */
function findNested(key: string, schema: SchemaObject): string | undefined {
  for (const [name, child] of Object.entries(schema.keys)) {
    if (child.kind !== 'object') continue;
    if (Object.hasOwn(child.keys, key)) return `${name}.${key}`;
    for (const [inner, grandchild] of Object.entries(child.keys)) {
      if (grandchild.kind === 'object' && Object.hasOwn(grandchild.keys, key)) {
        return `${name}.${inner}.${key}`;
      }
    }
  }
  return undefined;
}

function isNull(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

function scalarValue(node: unknown): unknown {
  if (node === null || node === undefined) return null;
  return isScalar(node) ? node.value : node;
}

function describe(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  const value = scalarValue(node);
  if (value === null) return 'no value';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${String(value)}`;
  if (typeof value === 'boolean') return String(value);
  return 'a value of another type';
}

function quoteHint(value: unknown): string {
  const isBare = typeof value === 'number' || typeof value === 'boolean';
  return isBare ? ' (quote it to make it a string)' : '';
}
