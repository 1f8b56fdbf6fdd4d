#!/usr/bin/env node
// Writes docs/errors.md from the error-code registry (run after a build).
// A test fails when the page and the registry disagree.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { ERROR_CODES } = require(path.join(root, 'dist', 'processor', 'errors.js'));

const AREAS = [
  ['DSL', 'Rule language and rule files'],
  ['CONFIG', 'Configuration'],
  ['PROTO', 'OTLP decoding and encoding'],
  ['RECEIVER', 'Receivers'],
  ['EXPORTER', 'Exporter'],
  ['PROCESSOR', 'Processor'],
  ['ADMIN', 'Admin API'],
  ['SIGNING', 'Signing'],
  ['REDIS', 'Shared buffer in Redis'],
];

let text = '# Error codes\n\n' +
  'Every error the processor reports carries one of these codes (`ERR_<AREA>_<WHAT>`). ' +
  'Codes are never reused for another meaning. This page is generated from the registry in ' +
  '`processor/errors.ts` by `scripts/write-errors-doc.js`; a test keeps the two in step.\n';
for (const [area, title] of AREAS) {
  const codes = Object.keys(ERROR_CODES).filter((c) => c.startsWith(`ERR_${area}_`)).sort();
  if (codes.length === 0) continue;
  text += `\n## ${title}\n\n| code | meaning |\n|---|---|\n`;
  for (const code of codes) text += `| \`${code}\` | ${ERROR_CODES[code].replace(/\|/g, '\\|')} |\n`;
}
const other = Object.keys(ERROR_CODES).filter((c) => !AREAS.some(([a]) => c.startsWith(`ERR_${a}_`)));
if (other.length > 0) throw new Error(`codes outside the known areas: ${other.join(', ')}`);
fs.writeFileSync(path.join(root, 'docs', 'errors.md'), text);
console.log(`docs/errors.md: ${Object.keys(ERROR_CODES).length} codes`);
