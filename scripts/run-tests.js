#!/usr/bin/env node
// Runs every compiled test file under <outDir>/test (default dist) with node:test.
// Usage: node scripts/run-tests.js [--out DIR] [filter...]; a filter keeps the files
// whose path contains it.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
let outDir = path.join(root, 'dist');
if (args[0] === '--out') {
  outDir = path.resolve(root, args[1]);
  args.splice(0, 2);
}
const filters = args;

function walk(dir, found) {
  if (!fs.existsSync(dir)) return found;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, found);
    else if (entry.name.endsWith('.test.js')) found.push(full);
  }
  return found;
}

const files = walk(path.join(outDir, 'test'), [])
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files under ${path.join(outDir, 'test')}; run the build first`);
  process.exit(2);
}
const result = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
