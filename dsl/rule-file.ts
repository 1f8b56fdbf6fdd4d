/**
 * Rule files (PRODUCT.md 2): YAML 1.2 (core schema) holding `rules:`, read
 * into rule definitions with every problem reported at its YAML line and
 * column, then compiled. The same field reader serves rules given as JSON
 * objects (the rules API). Files written for the original BeTrace rule
 * libraries load unchanged.
 */

import { isUtf8 } from 'node:buffer';
import fs from 'node:fs/promises';
import path from 'node:path';

import { parseDocument } from 'yaml';

import { compileCondition } from './compile';
import { compareDiagnostics } from './diagnostics';
import {
  DocReporter,
  describeNode,
  entryOf,
  fromJson,
  fromYaml,
  reportUnknownKeys,
  textOf,
} from './doc-node';
import { readExampleTrace } from './example-trace';
import { expandFilePatterns } from './file-patterns';
import { createScalarLocator } from './scalar-locator';
import { createLineIndex, toPrintable } from './source-text';

import type { Diagnostic } from './diagnostics';
import type { DocMap, DocNode, DocScalar } from './doc-node';
import type {
  ComplianceControl,
  CompiledRule,
  Dialect,
  ExampleTrace,
  RuleDefinition,
  Severity,
  SourcePosition,
} from './rule';
import type { LineIndex, Locator } from './source-text';

/** Rules that compiled, and every diagnostic of the text or file. */
export interface RuleFileResult {
  readonly rules: CompiledRule[];
  readonly diagnostics: Diagnostic[];
}

/** Options of compileRuleFiles. */
export interface CompileRuleFilesOptions {
  /** Folder that relative paths and patterns are resolved against (default: the process's). */
  readonly cwd?: string;
  /** Files to leave out even when a pattern matches them (resolved against cwd). */
  readonly exclude?: readonly string[];
}

const RULE_FIELDS = [
  'id', 'name', 'description', 'severity', 'enabled', 'condition', 'dialect',
  'compliance_frameworks', 'compliance', 'tags', 'example_violation', 'example_pass',
] as const;
const FILE_FIELDS = ['rules', 'dialect'] as const;
const SEVERITIES: readonly Severity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'];
const DIALECTS: readonly Dialect[] = ['current', 'legacy'];

/** Longest rule name and description in UTF-8 bytes (the reference system's limits). */
const MAX_NAME_BYTES = 256;
const MAX_DESCRIPTION_BYTES = 4096;
const MAX_ID_LENGTH = 256;

/** A definition read from a document, with where its condition is. */
interface ReadRule {
  readonly definition: RuleDefinition;
  /** False when some other field was bad: the condition is still compiled, for its diagnostics. */
  readonly valid: boolean;
  readonly idNode: DocNode;
  readonly conditionNode: DocNode;
}

// ---- files -------------------------------------------------------------------

/** Parses and compiles the rules of one file's text. */
export function parseRuleFile(text: string, file: string): RuleFileResult {
  return compileFileText(text, file, new Map(), false);
}

/** Reads and compiles one file; an unreadable file is a diagnostic. */
export async function loadRuleFile(file: string): Promise<RuleFileResult> {
  const text = await readText(file);
  if (typeof text !== 'string') return { rules: [], diagnostics: [text] };
  return parseRuleFile(text, file);
}

/**
 * Compiles the rules of several files or patterns (`rules/*.yaml`), with ids
 * unique across all of them. `sources` maps each file as named in the
 * diagnostics to its text.
 */
export async function compileRuleFiles(
  paths: readonly string[],
  options: CompileRuleFilesOptions = {},
): Promise<{ rules: CompiledRule[]; diagnostics: Diagnostic[]; sources: Map<string, string> }> {
  const cwd = options.cwd ?? process.cwd();
  const expanded = await expandFilePatterns(paths, cwd);
  const excluded = new Set((options.exclude ?? []).map((f) => path.resolve(cwd, f)));
  const rules: CompiledRule[] = [];
  const diagnostics: Diagnostic[] = expanded.unmatched.map((pattern) => ({
    code: 'ERR_DSL_NO_MATCH', severity: 'error', message: `no file matches "${pattern}"`,
    file: pattern, line: 1, column: 1,
  }));
  const sources = new Map<string, string>();
  const seenIds = new Map<string, SourcePosition>();
  const seenFiles = new Set<string>();
  for (const file of expanded.files) {
    const absolute = path.resolve(cwd, file);
    if (excluded.has(absolute) || seenFiles.has(absolute)) continue;
    seenFiles.add(absolute);
    const text = await readText(absolute, file);
    if (typeof text !== 'string') {
      diagnostics.push(text);
      continue;
    }
    sources.set(file, text);
    // A listed file that holds nothing is more often a truncated save than a
    // wish to drop its rules, so it is an error that keeps the working set.
    const result = compileFileText(text, file, seenIds, true);
    rules.push(...result.rules);
    diagnostics.push(...result.diagnostics);
  }
  return { rules, diagnostics, sources };
}

async function readText(absolute: string, shown = absolute): Promise<string | Diagnostic> {
  try {
    const bytes = await fs.readFile(absolute);
    if (isUtf8(bytes)) return bytes.toString('utf8');
    return {
      code: 'ERR_DSL_FILE_UNREADABLE', severity: 'error',
      message: 'cannot read rule file: it is not UTF-8 text', hint: 'save the file as UTF-8',
      file: shown, line: firstNonUtf8Line(bytes), column: 1,
    };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder'
      : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    return {
      code: 'ERR_DSL_FILE_UNREADABLE', severity: 'error', message: `cannot read rule file: ${reason}`,
      file: shown, line: 1, column: 1,
    };
  }
}

/** The 1-based line holding the first byte that is not UTF-8 (a newline byte never sits inside a character). */
function firstNonUtf8Line(bytes: Buffer): number {
  let line = 1;
  for (let start = 0; start < bytes.length; line++) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline === -1 ? bytes.length : newline;
    if (!isUtf8(bytes.subarray(start, end))) return line;
    start = end + 1;
  }
  return 1;
}

function compileFileText(
  text: string,
  file: string,
  seenIds: Map<string, SourcePosition>,
  emptyIsError: boolean,
): RuleFileResult {
  const index = createLineIndex(text);
  const reporter = new DocReporter(file, index);
  const doc = parseDocument(text, {
    version: '1.2', schema: 'core', intAsBigInt: true, uniqueKeys: true, prettyErrors: false,
  });
  for (const e of doc.errors) {
    reporter.error(
      'ERR_DSL_YAML_SYNTAX',
      lowerFirst(e.message.split('\n')[0]),
      { start: e.pos[0], end: e.pos[1] },
    );
  }
  if (doc.errors.length > 0) return { rules: [], diagnostics: reporter.diagnostics };
  for (const w of doc.warnings) {
    reporter.warn(
      'ERR_DSL_YAML_WARNING',
      lowerFirst(w.message.split('\n')[0]),
      { start: w.pos[0], end: w.pos[1] },
    );
  }
  const root = fromYaml(doc, text);
  const items = readFileShape(root, reporter, emptyIsError);
  const rules: CompiledRule[] = [];
  for (const item of items.rules) {
    const read = readRule(item, reporter, items.dialect, file);
    if (read === null) continue;
    const duplicate = seenIds.get(read.definition.id);
    if (duplicate !== undefined) {
      reporter.error('ERR_DSL_DUPLICATE_ID', `duplicate id "${read.definition.id}"`, read.idNode,
        `the first rule with this id is at ${duplicate.file}:${duplicate.line}:${duplicate.column}`);
    } else {
      seenIds.set(read.definition.id, read.definition.origin ?? { file, line: 1, column: 1 });
    }
    const locator = conditionLocator(read.conditionNode, index, file, read.definition.condition);
    const compiled = compileRule(read.definition, { locator });
    reporter.diagnostics.push(...compiled.diagnostics);
    if (compiled.rule !== null && read.valid && duplicate === undefined) rules.push(compiled.rule);
  }
  return { rules, diagnostics: reporter.diagnostics.sort(compareDiagnostics) };
}

function lowerFirst(message: string): string {
  return message.charAt(0).toLowerCase() + message.slice(1);
}

/**
 * The rule items and the file-level dialect. A file without content, or
 * with `rules:` and no value, holds no rules; with `emptyIsError` that is
 * reported (`rules: []` says it on purpose).
 */
function readFileShape(
  root: DocNode | null,
  reporter: DocReporter,
  emptyIsError: boolean,
): { rules: DocNode[]; dialect: Dialect } {
  const reportEmpty = (at: DocNode | null): void => {
    if (!emptyIsError) return;
    reporter.error(
      'ERR_DSL_FILE_EMPTY',
      at === null ? 'the rule file is empty' : 'rules: has no value',
      at,
      'write rules: [] for a file that is meant to hold no rules',
    );
  };
  if (root === null || (root.kind === 'scalar' && root.value === null)) {
    reportEmpty(null);
    return { rules: [], dialect: 'current' };
  }
  if (root.kind === 'seq') return { rules: [...root.items], dialect: 'current' };
  if (root.kind !== 'map') {
    reporter.error(
      'ERR_DSL_FILE_SHAPE',
      `a rule file holds a mapping with rules:, not ${describeNode(root)}`,
      root,
    );
    return { rules: [], dialect: 'current' };
  }
  reportUnknownKeys(root, FILE_FIELDS, reporter, 'the rule file');
  const dialect = readDialect(entryOf(root, 'dialect'), reporter) ?? 'current';
  const rules = entryOf(root, 'rules');
  if (rules === undefined) {
    reporter.error(
      'ERR_DSL_FILE_SHAPE',
      'the rule file has no rules: list',
      root,
      'start the file with rules: and a list of rules',
    );
    return { rules: [], dialect };
  }
  if (rules.kind === 'scalar' && rules.value === null) {
    reportEmpty(rules);
    return { rules: [], dialect };
  }
  if (rules.kind !== 'seq') {
    reporter.error(
      'ERR_DSL_FILE_SHAPE',
      `rules: must be a list, not ${describeNode(rules)}`,
      rules,
      'write each rule as a list item starting with - id: ...',
    );
    return { rules: [], dialect };
  }
  return { rules: [...rules.items], dialect };
}

function readDialect(node: DocNode | undefined, reporter: DocReporter): Dialect | undefined {
  if (node === undefined) return undefined;
  const text = textOf(node);
  if (text === null || !DIALECTS.includes(text as Dialect)) {
    reporter.error('ERR_DSL_BAD_FIELD', `dialect is ${describeNode(node)}, not current or legacy`, node);
    return undefined;
  }
  return text as Dialect;
}

function conditionLocator(
  node: DocNode,
  index: LineIndex,
  file: string,
  condition: string,
): Locator | undefined {
  const scalar = node as DocScalar;
  if (scalar.start < 0 || scalar.style === undefined) return undefined;
  const source = { style: scalar.style, start: scalar.start, end: scalar.end };
  return createScalarLocator(index, file, source, condition);
}

// ---- rule definitions ----------------------------------------------------------------

/**
 * Reads a rule given as a JSON object with the rule-file field names.
 * Diagnostics name the field and sit at `origin` (or 1:1).
 */
export function parseRuleDefinition(
  obj: unknown,
  origin?: SourcePosition,
): { definition: RuleDefinition | null; diagnostics: Diagnostic[] } {
  const file = origin?.file ?? '<rule>';
  const reporter = new DocReporter(file, null, origin ?? { line: 1, column: 1 });
  const read = readRule(fromJson(obj), reporter, 'current', file, origin);
  const valid = read !== null && read.valid;
  return { definition: valid ? read.definition : null, diagnostics: reporter.diagnostics };
}

function readRule(
  node: DocNode,
  reporter: DocReporter,
  fileDialect: Dialect,
  file: string,
  origin?: SourcePosition,
): ReadRule | null {
  if (node.kind !== 'map') {
    reporter.error(
      'ERR_DSL_FILE_SHAPE',
      `a rule is a mapping with id and condition, not ${describeNode(node)}`,
      node,
    );
    return null;
  }
  const before = reporter.diagnostics.length;
  reportUnknownKeys(node, RULE_FIELDS, reporter, 'a rule');
  const idNode = entryOf(node, 'id');
  const id = idNode === undefined ? null : readId(idNode, reporter);
  if (idNode === undefined) reporter.error(
    'ERR_DSL_MISSING_FIELD',
    'the rule has no id',
    firstLine(node),
    'add id: a-unique-name',
  );
  const conditionNode = entryOf(node, 'condition');
  const where = id === null ? 'the rule' : `rule "${id}"`;
  if (conditionNode === undefined) {
    reporter.error('ERR_DSL_MISSING_FIELD', `${where} has no condition`, firstLine(node),
      'add condition: when { ... } always { ... }');
  }
  const condition = conditionNode === undefined ? null : readCondition(conditionNode, reporter);
  const name = readOptionalText(node, 'name', reporter, MAX_NAME_BYTES);
  const description = readOptionalText(node, 'description', reporter, MAX_DESCRIPTION_BYTES);
  const severity = readSeverity(entryOf(node, 'severity'), reporter);
  const enabled = readEnabled(entryOf(node, 'enabled'), reporter);
  const dialect = readDialect(entryOf(node, 'dialect'), reporter) ?? fileDialect;
  const complianceFrameworks = readTextList(node, 'compliance_frameworks', reporter);
  const compliance = readCompliance(entryOf(node, 'compliance'), reporter);
  const tags = readTextList(node, 'tags', reporter);
  const exampleViolation = readExample(node, 'example_violation', reporter);
  const examplePass = readExample(node, 'example_pass', reporter);
  if (id === null || condition === null) return null;

  // A rule from a file starts where its mapping does; a JSON rule has an
  // origin only when the caller gives one.
  const at = origin ?? (node.start >= 0 ? { file, ...reporter.positionOf(node) } : undefined);
  const definition: RuleDefinition = {
    id,
    name: name ?? id,
    description: description ?? '',
    severity: severity ?? 'MEDIUM',
    enabled: enabled ?? true,
    dialect,
    condition,
    complianceFrameworks,
    compliance,
    tags,
    ...(exampleViolation !== undefined ? { exampleViolation } : {}),
    ...(examplePass !== undefined ? { examplePass } : {}),
    ...(at !== undefined ? { origin: { file: at.file, line: at.line, column: at.column } } : {}),
  };
  const valid = reporter.diagnostics.length === before;
  return { definition, valid, idNode: idNode!, conditionNode: conditionNode! };
}

// A missing field is reported on the rule's first line.
function firstLine(node: DocMap): { start: number; end: number } {
  const first = node.entries[0];
  return first === undefined ? node : { start: node.start, end: first.value.end };
}

function readId(node: DocNode, reporter: DocReporter): string | null {
  const id = textOf(node);
  if (id === null) {
    reporter.error('ERR_DSL_BAD_FIELD', `id is ${describeNode(node)}, not text`, node);
    return null;
  }
  // Ids appear in URLs of the rules API and in span attributes.
  if (id === '' || id.length > MAX_ID_LENGTH || /[\s/\\\u0000-\u001f\u007f]/.test(id)) {
    reporter.error(
      'ERR_DSL_BAD_FIELD',
      `id "${toPrintable(id.slice(0, 40))}" must be 1 to ${MAX_ID_LENGTH} characters without spaces, slashes or control characters`,
      node,
    );
    return null;
  }
  return id;
}

function readCondition(node: DocNode, reporter: DocReporter): string | null {
  if (node.kind !== 'scalar' || typeof node.value !== 'string') {
    reporter.error('ERR_DSL_BAD_FIELD', `condition is ${describeNode(node)}, not rule text`, node,
      'write the rule as text; a block scalar (condition: |) keeps several lines');
    return null;
  }
  return node.value;
}

function readOptionalText(
  node: DocMap,
  key: string,
  reporter: DocReporter,
  maxBytes: number,
): string | undefined {
  const value = entryOf(node, key);
  if (value === undefined) return undefined;
  const text = textOf(value);
  if (text === null) {
    reporter.error('ERR_DSL_BAD_FIELD', `${key} is ${describeNode(value)}, not text`, value);
    return undefined;
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    reporter.error('ERR_DSL_BAD_FIELD', `${key} of ${bytes} bytes is over the limit of ${maxBytes}`, value);
    return undefined;
  }
  return text;
}

function readSeverity(node: DocNode | undefined, reporter: DocReporter): Severity | undefined {
  if (node === undefined) return undefined;
  const text = textOf(node);
  const upper = text?.toUpperCase() as Severity | undefined;
  if (upper === undefined || !SEVERITIES.includes(upper)) {
    reporter.error(
      'ERR_DSL_BAD_SEVERITY',
      `severity is ${describeNode(node)}, not critical, high, medium or low`,
      node,
    );
    return undefined;
  }
  return upper;
}

function readEnabled(node: DocNode | undefined, reporter: DocReporter): boolean | undefined {
  if (node === undefined) return undefined;
  if (node.kind !== 'scalar' || typeof node.value !== 'boolean') {
    reporter.error('ERR_DSL_BAD_FIELD', `enabled is ${describeNode(node)}, not true or false`, node,
      'YAML 1.2 booleans are true and false (yes/no/on/off are text)');
    return undefined;
  }
  return node.value;
}

function readTextList(node: DocMap, key: string, reporter: DocReporter): string[] {
  const value = entryOf(node, key);
  if (value === undefined || (value.kind === 'scalar' && value.value === null)) return [];
  if (value.kind !== 'seq') {
    reporter.error(
      'ERR_DSL_BAD_FIELD',
      `${key} is ${describeNode(value)}, not a list`,
      value,
      `write ${key}: [${textOf(value) ?? 'a, b'}]`,
    );
    return [];
  }
  const out: string[] = [];
  for (const item of value.items) {
    const text = textOf(item);
    if (text === null) reporter.error(
      'ERR_DSL_BAD_FIELD',
      `${key} holds ${describeNode(item)}, not text`,
      item,
    );
    else out.push(text);
  }
  return out;
}

function readCompliance(node: DocNode | undefined, reporter: DocReporter): ComplianceControl[] {
  if (node === undefined || (node.kind === 'scalar' && node.value === null)) return [];
  if (node.kind !== 'seq') {
    reporter.error(
      'ERR_DSL_BAD_FIELD',
      `compliance is ${describeNode(node)}, not a list of {framework, control}`,
      node,
    );
    return [];
  }
  const out: ComplianceControl[] = [];
  for (const item of node.items) {
    if (item.kind !== 'map') {
      reporter.error(
        'ERR_DSL_BAD_FIELD',
        `compliance holds ${describeNode(item)}, not {framework, control}`,
        item,
      );
      continue;
    }
    reportUnknownKeys(item, ['framework', 'control'], reporter, 'a compliance entry');
    const pair: Partial<Record<'framework' | 'control', string>> = {};
    for (const key of ['framework', 'control'] as const) {
      const value = entryOf(item, key);
      const text = value === undefined ? null : textOf(value);
      if (value === undefined) reporter.error(
        'ERR_DSL_MISSING_FIELD',
        `a compliance entry has no ${key}`,
        item,
      );
      else if (text === null || text === '') reporter.error(
        'ERR_DSL_BAD_FIELD',
        `compliance ${key} is ${describeNode(value)}, not text`,
        value,
      );
      else pair[key] = text;
    }
    if (pair.framework !== undefined && pair.control !== undefined) {
      out.push({ framework: pair.framework, control: pair.control });
    }
  }
  return out;
}

function readExample(node: DocMap, key: string, reporter: DocReporter): ExampleTrace | undefined {
  const value = entryOf(node, key);
  if (value === undefined || (value.kind === 'scalar' && value.value === null)) return undefined;
  return readExampleTrace(value, reporter, key) ?? undefined;
}

// ---- compiling -------------------------------------------------------------------

/**
 * Compiles a definition's condition. Diagnostics sit in the condition text
 * (line 1, column 1 = its first character) unless a locator or file
 * position is given.
 */
export function compileRule(
  def: RuleDefinition,
  options: { file?: string; line?: number; column?: number; locator?: Locator } = {},
): { rule: CompiledRule | null; diagnostics: Diagnostic[] } {
  const result = compileCondition(def.condition, {
    dialect: def.dialect,
    file: options.file ?? '<condition>',
    line: options.line,
    column: options.column,
    locator: options.locator,
  });
  if (result.program === null) return { rule: null, diagnostics: result.diagnostics };
  return { rule: { ...def, program: result.program }, diagnostics: result.diagnostics };
}

