/**
 * A small tree of values with their source ranges, built from a YAML
 * document or from a plain JSON value, so that one reader validates rules
 * from files and from the rules API and points at the offending value.
 */

import { isAlias, isMap, isPair, isScalar, isSeq } from 'yaml';

import { toDiagnostic } from './diagnostics';
import { toPrintable } from './source-text';

import type { Document, Node as YamlNode } from 'yaml';

import type { Diagnostic } from './diagnostics';
import type { DslErrorCode } from './errors';
import type { LineIndex } from './source-text';

/** Where a value stands in its document. */
export interface DocBase {
  /** Offsets in the file's text; -1 when the value has no source (JSON). */
  readonly start: number;
  readonly end: number;
}

/** A single value. */
export interface DocScalar extends DocBase {
  readonly kind: 'scalar';
  /** string, number, bigint (YAML integers), boolean or null. */
  readonly value: unknown;
  /** The YAML scalar style (`PLAIN`, `QUOTE_DOUBLE`, `BLOCK_LITERAL`, ...). */
  readonly style?: string;
  /** The scalar as written, for numbers whose digits matter (`10.20`). */
  readonly source?: string;
}

/** A list. */
export interface DocSeq extends DocBase {
  readonly kind: 'seq';
  readonly items: readonly DocNode[];
}

/** One key of a mapping, with the nodes of key and value. */
export interface DocEntry {
  readonly key: string;
  readonly keyNode: DocNode;
  readonly value: DocNode;
}

/** A mapping, keys in document order. */
export interface DocMap extends DocBase {
  readonly kind: 'map';
  readonly entries: readonly DocEntry[];
}

/** Any value of a document. */
export type DocNode = DocScalar | DocSeq | DocMap;

// Aliases can expand a small file into a huge tree; past this many nodes
// the rest reads as null.
const MAX_NODES = 200_000;

/** Converts a parsed YAML document's contents, resolving aliases. */
export function fromYaml(doc: Document, source: string): DocNode | null {
  let budget = MAX_NODES;
  const convert = (node: unknown, depth: number): DocNode => {
    if (--budget < 0 || depth > 200) return { kind: 'scalar', value: null, start: -1, end: -1 };
    if (isAlias(node)) {
      const target = node.resolve(doc);
      return target === undefined ? nullAt(node as YamlNode) : convert(target, depth + 1);
    }
    const range = (node as YamlNode | null)?.range ?? null;
    const start = range === null ? -1 : range[0];
    const end = range === null ? -1 : range[1];
    if (isScalar(node)) {
      return {
        kind: 'scalar', value: node.value, style: node.type, source: source.slice(start, end), start, end,
      };
    }
    if (isSeq(node)) {
      return { kind: 'seq', items: node.items.map((i) => convert(i, depth + 1)), start, end };
    }
    if (isMap(node)) {
      const entries: DocEntry[] = [];
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = convert(pair.key, depth + 1);
        const value = pair.value === null ? nullAfter(keyNode) : convert(pair.value, depth + 1);
        entries.push({ key: keyText(keyNode), keyNode, value });
      }
      return { kind: 'map', entries, start, end };
    }
    return { kind: 'scalar', value: null, start, end };
  };
  return doc.contents === null ? null : convert(doc.contents, 0);
}

function nullAt(node: YamlNode): DocScalar {
  const range = node.range ?? [-1, -1];
  return { kind: 'scalar', value: null, start: range[0], end: range[1] };
}

// `key:` with nothing after it: point just past the key.
function nullAfter(keyNode: DocNode): DocScalar {
  return { kind: 'scalar', value: null, start: keyNode.end, end: keyNode.end };
}

function keyText(node: DocNode): string {
  if (node.kind !== 'scalar') return '[complex key]';
  return node.value === null ? '' : String(node.value);
}

/** Converts a JSON value (from the rules API); nodes carry no source range. */
export function fromJson(value: unknown, depth = 0): DocNode {
  if (depth > 200) return { kind: 'scalar', value: null, start: -1, end: -1 };
  if (Array.isArray(value)) {
    return { kind: 'seq', items: value.map((v) => fromJson(v, depth + 1)), start: -1, end: -1 };
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([key, v]) => ({
      key,
      keyNode: { kind: 'scalar', value: key, start: -1, end: -1 } as DocScalar,
      value: fromJson(v, depth + 1),
    }));
    return { kind: 'map', entries, start: -1, end: -1 };
  }
  return { kind: 'scalar', value: value === undefined ? null : value, start: -1, end: -1 };
}

/** The JS value of a node: arrays, plain objects, and safe numbers. */
export function toPlainValue(node: DocNode): unknown {
  switch (node.kind) {
    case 'scalar':
      if (typeof node.value === 'bigint') {
        // Keeps values JSON-serialisable; the digits are the text form anyway.
        return Number.isSafeInteger(Number(node.value)) ? Number(node.value) : node.value.toString();
      }
      return node.value;
    case 'seq':
      return node.items.map(toPlainValue);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const e of node.entries) out[e.key] = toPlainValue(e.value);
      return out;
    }
  }
}

/** Collects diagnostics about nodes of one document. */
export class DocReporter {
  readonly diagnostics: Diagnostic[] = [];
  readonly file: string;
  private readonly index: LineIndex | null;
  private readonly fallback: { line: number; column: number };

  constructor(file: string, index: LineIndex | null, fallback = { line: 1, column: 1 }) {
    this.file = file;
    this.index = index;
    this.fallback = fallback;
  }

  error(code: DslErrorCode, message: string, node: DocBase | null, hint?: string): void {
    this.report(code, 'error', message, node, hint);
  }

  warn(code: DslErrorCode, message: string, node: DocBase | null, hint?: string): void {
    this.report(code, 'warning', message, node, hint);
  }

  report(
    code: DslErrorCode,
    severity: 'error' | 'warning',
    message: string,
    node: DocBase | null,
    hint?: string,
  ): void {
    const start = node?.start ?? -1;
    const end = node?.end ?? -1;
    this.diagnostics.push(toDiagnostic(
      { code, severity, message, start, end, hint },
      {
        file: this.file,
        locate: (offset) => {
          if (this.index === null || offset < 0) return this.fallback;
          return { ...this.index.positionAt(offset), offset };
        },
      },
    ));
  }

  /** Where a node starts, for rule origins. */
  positionOf(node: DocBase): { line: number; column: number } {
    if (this.index === null || node.start < 0) return this.fallback;
    return this.index.positionAt(node.start);
  }
}

/**
 * The text of a scalar written as a string or a number (numbers keep their
 * digits as written, so `control: 10.20` is `10.20`); null otherwise.
 */
export function textOf(node: DocNode): string | null {
  if (node.kind !== 'scalar') return null;
  const v = node.value;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') {
    return node.source !== undefined && node.style === 'PLAIN' ? node.source : String(v);
  }
  return null;
}

/** What a node is, for messages (`a list`, `true`). */
export function describeNode(node: DocNode): string {
  if (node.kind === 'seq') return 'a list';
  if (node.kind === 'map') return 'a mapping';
  if (node.value === null) return 'empty';
  if (node.value instanceof Uint8Array) return 'binary data';
  if (typeof node.value === 'string') {
    return `"${toPrintable(node.value.length > 40 ? `${node.value.slice(0, 40)}…` : node.value)}"`;
  }
  return String(node.value);
}

/** The known name closest to a misspelt one, if any is close. */
export function closestName(word: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const name of names) {
    const d = editDistance(word.toLowerCase(), name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** Reports keys of a mapping that are not among `known`. */
export function reportUnknownKeys(
  map: DocMap,
  known: readonly string[],
  reporter: DocReporter,
  where: string,
): void {
  for (const e of map.entries) {
    if (known.includes(e.key)) continue;
    const close = closestName(e.key, known);
    reporter.error('ERR_DSL_UNKNOWN_FIELD', `unknown field "${toPrintable(e.key)}" in ${where}`, e.keyNode,
      close !== undefined ? `did you mean "${close}"?` : `the fields are ${known.join(', ')}`);
  }
}

/** The value of a key in a mapping, or undefined. */
export function entryOf(map: DocMap, key: string): DocNode | undefined {
  for (const e of map.entries) if (e.key === key) return e.value;
  return undefined;
}
