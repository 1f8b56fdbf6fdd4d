/**
 * Parser scaling: the product's recursive-descent parser against a nearley
 * grammar of the same base language, on the inputs the rule language must
 * handle in linear time (a long flat `and` chain, deep nesting, a 64 KiB
 * rule), each at several sizes. Both parsers get the same tokens; the
 * figures include tokenizing. Run: node dist/benchmarks/dsl-parse.js
 */

import { tokenize } from '../dsl/lexer';
import { parseTokens } from '../dsl/parser';
import { createNearleyParser } from './dsl-nearley-grammar';

interface Input {
  readonly family: string;
  readonly size: number;
  readonly text: string;
}

function andChain(terms: number): string {
  const parts = Array.from({ length: terms }, (_, i) => `svc.op${i}`);
  return `when { ${parts.join(' and ')} } always { audit.log }`;
}

function nested(depth: number): string {
  // Exactly `depth` open parentheses at the innermost point (the limit is 100).
  return `when { ${'('.repeat(depth - 1)}a.where(x > 1) and b${')'.repeat(depth - 1)} } always { c }`;
}

function bigRule(bytes: number): string {
  const parts: string[] = [];
  let size = 40;
  for (let i = 0; size < bytes - 120; i++) {
    const part = `payment.step${i}.where(amount > ${i} and currency in [USD, EUR] and not "card.brand" == amex)`;
    parts.push(part);
    size += part.length + 4;
  }
  return `when { ${parts.join(' or ')} } always { payment.fraud_check }`;
}

function ownParse(text: string): boolean {
  const lexed = tokenize(text, 'current');
  return parseTokens(lexed.tokens, 'current').rule !== null;
}

/** Median milliseconds per call, over several timed batches. */
function timeMs(fn: () => void, budgetMs: number): number {
  const warmUntil = performance.now() + budgetMs / 4;
  while (performance.now() < warmUntil) fn();
  const samples: number[] = [];
  const deadline = performance.now() + budgetMs;
  while (samples.length < 5 || (performance.now() < deadline && samples.length < 200)) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
    if (samples.length >= 5 && performance.now() > deadline) break;
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

function main(): void {
  const inputs: Input[] = [
    ...[500, 1000, 2000].map((n) => ({ family: 'and_chain', size: n, text: andChain(n) })),
    ...[25, 50, 100].map((d) => ({ family: 'nesting', size: d, text: nested(d) })),
    ...[16384, 32768, 65536].map((b) => ({ family: 'rule_bytes', size: b, text: bigRule(b) })),
  ];
  const nearleyParse = createNearleyParser();
  const rows: { family: string; size: number; bytes: number; ownMs: number; nearleyMs: number }[] = [];
  for (const input of inputs) {
    if (!ownParse(input.text) || !nearleyParse(input.text).ok) {
      throw new Error(`benchmark input does not parse: ${input.family} ${input.size}`);
    }
    const ownMs = timeMs(() => ownParse(input.text), 400);
    const nearleyMs = timeMs(() => nearleyParse(input.text), 1500);
    rows.push({ family: input.family, size: input.size, bytes: Buffer.byteLength(input.text), ownMs, nearleyMs });
  }

  console.log('family      size   bytes    own ms  nearley ms  nearley/own');
  for (const r of rows) {
    console.log(
      `${r.family.padEnd(10)} ${String(r.size).padStart(5)} ${String(r.bytes).padStart(7)} ` +
      `${r.ownMs.toFixed(3).padStart(9)} ${r.nearleyMs.toFixed(2).padStart(11)} ${(r.nearleyMs / r.ownMs).toFixed(0).padStart(12)}`,
    );
  }

  // Cost per unit of input at the largest size over the smallest: 1 is linear.
  const growth = (family: string, pick: (r: (typeof rows)[number]) => number): number => {
    const f = rows.filter((r) => r.family === family);
    const first = f[0];
    const last = f[f.length - 1];
    return (pick(last) / last.bytes) / (pick(first) / first.bytes);
  };
  const summary: Record<string, number> = {};
  for (const family of ['and_chain', 'nesting', 'rule_bytes']) {
    summary[`own_cost_per_byte_growth_${family}`] = round(growth(family, (r) => r.ownMs));
    summary[`nearley_cost_per_byte_growth_${family}`] = round(growth(family, (r) => r.nearleyMs));
  }
  const largest = rows.find((r) => r.family === 'rule_bytes' && r.size === 65536)!;
  summary.own_ms_64k = round(largest.ownMs);
  summary.nearley_ms_64k = round(largest.nearleyMs);
  summary.nearley_over_own_64k = round(largest.nearleyMs / largest.ownMs);
  const chain = rows.find((r) => r.family === 'and_chain' && r.size === 2000)!;
  summary.nearley_over_own_and_2000 = round(chain.nearleyMs / chain.ownMs);

  reportErrors(nearleyParse);
  console.log(`BENCH_JSON ${JSON.stringify(summary)}`);
}

/** Where each parser places a syntax error, and how long nearley's message is. */
function reportErrors(nearleyParse: ReturnType<typeof createNearleyParser>): void {
  const broken = [
    'when { a always { b }',
    'when { a.where(x > ) } always { b }',
    'when { a } always { b.where(x in [1, ]) }',
  ];
  console.log('\nsyntax errors: offset found by each parser, nearley message size');
  for (const text of broken) {
    const own = parseTokens(tokenize(text, 'current').tokens, 'current').diagnostics[0];
    const other = nearleyParse(text);
    const firstLine = other.errorMessage.split('\n')[0];
    console.log(`  ${JSON.stringify(text)}: own ${own.start} "${own.message}"; nearley ${other.errorOffset} ` +
      `(${other.errorMessage.length} chars, ${other.errorMessage.split('\n').length} lines: "${firstLine}")`);
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

main();
