/**
 * Summarises V8 heap snapshots (`.heapsnapshot`, as `e2e-bench.js
 * --heap-snapshot PREFIX` writes them): self size by kind of node (objects
 * by constructor, strings by length, arrays, numbers...). Given two
 * snapshots it prints the growth from the first to the second, and with
 * `--per N` that growth divided by N (for example the spans buffered).
 *
 * Usage: node dist/benchmarks/e2e-heap-summary.js [BEFORE.heapsnapshot] AFTER.heapsnapshot [--per N] [--top 30]
 */

import fs from 'node:fs';

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly [readonly string[], ...unknown[]];
    };
  };
  readonly nodes: readonly number[];
  readonly strings: readonly string[];
}

/** Bytes and node counts per kind. */
export type HeapTally = Map<string, { bytes: number; count: number }>;

/** Tallies the self size of every node of a snapshot by kind. */
export function tallyHeap(snapshot: Snapshot): HeapTally {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const tally: HeapTally = new Map();
  const nodes = snapshot.nodes;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const name = snapshot.strings[nodes[i + nameAt]];
    const key = kindOf(type, name);
    const entry = tally.get(key);
    if (entry === undefined) tally.set(key, { bytes: nodes[i + sizeAt], count: 1 });
    else {
      entry.bytes += nodes[i + sizeAt];
      entry.count++;
    }
  }
  return tally;
}

function kindOf(type: string, name: string): string {
  switch (type) {
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      // String contents are data; their length says what they are (16 hex: a span ID).
      return `${type} of ${lengthBucket(name.length)} chars`;
    case 'object':
    case 'closure':
    case 'regexp':
      return `${type} ${name}`;
    case 'array':
    case 'hidden':
    case 'code':
      return `${type} ${name.replace(/\d+/g, 'N').slice(0, 60)}`;
    default:
      return type;
  }
}

function lengthBucket(length: number): string {
  if (length <= 16) return String(length);
  if (length <= 32) return '17-32';
  if (length <= 64) return '33-64';
  if (length <= 128) return '65-128';
  return '129+';
}

function read(file: string): HeapTally {
  return tallyHeap(JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot);
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string): number | undefined => {
    const i = args.indexOf(name);
    if (i === -1) return undefined;
    const value = Number(args[i + 1]);
    args.splice(i, 2);
    return value;
  };
  const per = option('--per');
  const top = option('--top') ?? 30;
  if (args.length < 1 || args.length > 2) {
    console.error('usage: e2e-heap-summary.js [BEFORE.heapsnapshot] AFTER.heapsnapshot [--per N] [--top 30]');
    process.exit(2);
  }
  const after = read(args[args.length - 1]);
  const before = args.length === 2 ? read(args[0]) : new Map();
  const rows = [...after].map(([key, a]) => {
    const b = before.get(key) ?? { bytes: 0, count: 0 };
    return { key, bytes: a.bytes - b.bytes, count: a.count - b.count };
  });
  for (const [key, b] of before) if (!after.has(key)) rows.push({ key, bytes: -b.bytes, count: -b.count });
  rows.sort((x, y) => y.bytes - x.bytes);
  const total = rows.reduce((n, r) => n + r.bytes, 0);
  const scale = per ?? 1;
  const unit = per === undefined ? 'bytes' : `bytes per ${per}`;
  console.log(`${args.length === 2 ? 'growth' : 'size'}: ${(total / scale).toFixed(1)} ${unit}`);
  console.log(`${unit.padStart(14)} ${'nodes'.padStart(10)}  kind`);
  for (const row of rows.slice(0, top)) {
    const value = (row.bytes / scale).toFixed(per === undefined ? 0 : 1);
    const count = per === undefined ? String(row.count) : (row.count / scale).toFixed(2);
    console.log(`${value.padStart(14)} ${count.padStart(10)}  ${row.key}`);
  }
}

if (require.main === module) main();
