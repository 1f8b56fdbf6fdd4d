/**
 * The offline commands run as a user runs them: as a process, on files,
 * with the exit codes of the command-line contract.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { REPO_ROOT } from '../helpers/paths';

const MAIN = path.resolve(__dirname, '..', '..', 'processor', 'cli', 'main.js');

function betrace(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [MAIN, ...args], { cwd, encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const RULES = `rules:
  - id: fraud-check
    name: High-value payments need a fraud check
    condition: |
      when { payment.process.where(payment.amount > 1000) }
      always { payment.fraud_check }
  - id: no-debug
    condition: when { checkout.order } never { debug.dump }
  - id: legacy-debug
    dialect: legacy
    condition: trace.has(debug.dump)
`;

function span(traceId: string, spanId: string, name: string, attrs: Record<string, unknown> = {}) {
  return {
    traceId,
    spanId,
    name,
    startTimeUnixNano: '1750000000000000000',
    endTimeUnixNano: '1750000000100000000',
    attributes: Object.entries(attrs).map(([key, v]) => ({
      key,
      value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: String(v) },
    })),
  };
}

function request(spans: unknown[]) {
  return { resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 't' }, spans }] }] };
}

const T1 = '0af7651916cd43dd8448eb211c80319c';
const T2 = '5b8aa5a2d2c872e8321cf37308d69df2';

describe('betrace eval', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-cli-'));
    fs.writeFileSync(path.join(dir, 'rules.yaml'), RULES);
    // One request holding both traces, pretty-printed.
    fs.writeFileSync(path.join(dir, 'whole.json'), JSON.stringify(request([
      span(T1, 'b7ad6b7169203331', 'payment.process', { 'payment.amount': 5000 }),
      span(T2, '00f067aa0ba902b7', 'checkout.order'),
      span(T2, '00f067aa0ba902b8', 'debug.dump'),
    ]), null, 2));
    // The Collector file exporter's shape: one request per line.
    fs.writeFileSync(path.join(dir, 'lines.jsonl'), [
      JSON.stringify(request([span(T2, '00f067aa0ba902b7', 'checkout.order')])),
      JSON.stringify(request([span(T1, 'b7ad6b7169203331', 'payment.process', { 'payment.amount': 5000 })])),
      JSON.stringify(request([span(T2, '00f067aa0ba902b8', 'debug.dump')])),
    ].join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'broken.json'), '{"resourceSpans": [\n  {"scopeSpans": [}\n]}');
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints one line per violation, traces in input order and rules in file order', () => {
    const run = betrace(['eval', '--rules', 'rules.yaml', 'whole.json'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n').map((l) => JSON.parse(l)), [
      { trace_id: T1, rule_id: 'fraud-check', outcome: 'violation' },
      { trace_id: T2, rule_id: 'no-debug', outcome: 'violation' },
      { trace_id: T2, rule_id: 'legacy-debug', outcome: 'violation' },
    ]);
  });

  it('groups spans of one trace across the lines of a file exporter file, and --all prints every outcome', () => {
    const run = betrace(['eval', '--rules', 'rules.yaml', '--all', 'lines.jsonl'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n').map((l) => JSON.parse(l)), [
      { trace_id: T2, rule_id: 'fraud-check', outcome: 'not_applicable' },
      { trace_id: T2, rule_id: 'no-debug', outcome: 'violation' },
      { trace_id: T2, rule_id: 'legacy-debug', outcome: 'violation' },
      { trace_id: T1, rule_id: 'fraud-check', outcome: 'violation' },
      { trace_id: T1, rule_id: 'no-debug', outcome: 'not_applicable' },
      { trace_id: T1, rule_id: 'legacy-debug', outcome: 'pass' },
    ]);
  });

  it('names the file and position of a malformed trace file and exits 2', () => {
    const run = betrace(['eval', '--rules', 'rules.yaml', 'broken.json'], dir);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /broken\.json/);
    assert.match(run.stderr, /line 2/);
    assert.equal(run.stdout, '');
  });

  it('prints diagnostics and exits 2 when the rules do not compile', () => {
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'rules:\n  - id: x\n    condition: when { a } always { b.where(n > ) }\n');
    const run = betrace(['eval', '--rules', 'bad.yaml', 'whole.json'], dir);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /bad\.yaml:3:\d+/);
  });

  it('answers a usage error with exit code 2', () => {
    const run = betrace(['eval', 'whole.json'], dir);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--rules/);
  });
});

describe('betrace check and test on the bundled rules', () => {
  it('compiles every bundled rule file', () => {
    const files = fs.readdirSync(path.join(REPO_ROOT, 'rules')).filter((f) => f.endsWith('.yaml')).map((f) => path.join('rules', f));
    const run = betrace(['check', ...files], REPO_ROOT);
    assert.equal(run.code, 0, run.stdout + run.stderr);
  });

  it('runs every bundled example and finds each behaving', () => {
    const files = fs.readdirSync(path.join(REPO_ROOT, 'rules')).filter((f) => f.endsWith('.yaml')).map((f) => path.join('rules', f));
    const run = betrace(['test', ...files], REPO_ROOT);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout, /^FAIL/m);
  });

  it('runs through the installed bin/betrace script', () => {
    const run = spawnSync(path.join(REPO_ROOT, 'bin', 'betrace'), ['--version'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^\d+\.\d+\.\d+/);
  });
});
