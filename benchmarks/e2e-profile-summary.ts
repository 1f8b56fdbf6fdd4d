/**
 * Summarises a V8 `.cpuprofile` (as `node --cpu-prof` writes it, e.g. from
 * `e2e-bench.js --profile DIR`): self time by function and by source file,
 * and total (inclusive) time of the functions named on the command line, as
 * shares of all samples.
 *
 * Usage: node dist/benchmarks/e2e-profile-summary.js FILE.cpuprofile [--top 25] [--total NAME...]
 */

import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Self and inclusive time per function key, in µs. */
export interface ProfileSummary {
  readonly totalUs: number;
  readonly idleUs: number;
  readonly selfByFunction: ReadonlyMap<string, number>;
  readonly selfByFile: ReadonlyMap<string, number>;
  readonly totalByFunction: ReadonlyMap<string, number>;
}

/** Reads and summarises one profile. */
export function summariseProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const selfByFunction = new Map<string, number>();
  const selfByFile = new Map<string, number>();
  const totalByFunction = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    totalUs += us;
    if (node.callFrame.functionName === '(idle)') idleUs += us;
    add(selfByFunction, functionKey(node), us);
    add(selfByFile, fileKey(node), us);
    // Each function counts once per sample even when it recurses.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const key = functionKey(byId.get(at)!);
      if (seen.has(key)) continue;
      seen.add(key);
      add(totalByFunction, key, us);
    }
  }
  return { totalUs, idleUs, selfByFunction, selfByFile, totalByFunction };
}

function functionKey(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (url === '') return functionName || '(anonymous)';
  return `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
}

function fileKey(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  return url === '' ? functionName : shortUrl(url);
}

function shortUrl(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('node_modules/');
  if (modules !== -1) return file.slice(modules + 'node_modules/'.length);
  const dist = file.search(/\/dist[^/]*\//);
  if (dist !== -1) return file.slice(dist + 1);
  return path.basename(file);
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

function printTop(title: string, map: ReadonlyMap<string, number>, busyUs: number, top: number): void {
  console.log(`\n${title} (share of busy time)`);
  const rows = [...map].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [key, us] of rows) {
    console.log(`${((100 * us) / busyUs).toFixed(1).padStart(6)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
  }
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args[0];
  if (file === undefined) {
    console.error('usage: e2e-profile-summary.js FILE.cpuprofile [--top N] [--total NAME...]');
    process.exit(2);
  }
  const topAt = args.indexOf('--top');
  const top = topAt === -1 ? 25 : Number(args[topAt + 1]);
  const totalAt = args.indexOf('--total');
  const wanted = totalAt === -1 ? [] : args.slice(totalAt + 1).filter((a) => !a.startsWith('--'));
  const summary = summariseProfile(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile);
  const busyUs = summary.totalUs - summary.idleUs;
  console.log(`${file}: ${(summary.totalUs / 1e6).toFixed(2)} s sampled, ${(busyUs / 1e6).toFixed(2)} s busy`);
  printTop('self time by function', summary.selfByFunction, busyUs, top);
  printTop('self time by file', summary.selfByFile, busyUs, top);
  if (wanted.length > 0) {
    console.log('\ninclusive time');
    for (const [key, us] of summary.totalByFunction) {
      if (!wanted.some((w) => key.startsWith(`${w} `) || key === w)) continue;
      console.log(`${((100 * us) / busyUs).toFixed(1).padStart(6)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
    }
  }
}

if (require.main === module) main();
