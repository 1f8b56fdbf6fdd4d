/**
 * The processor's own rules file (`rules.api_file`): the rules created
 * through the rules API, in the rule-file shape so that a person can read
 * and review it, and `overrides:`, the enabled state the API set on rules
 * that other rule files own. Written atomically: a temporary file in the
 * same folder, fsync, rename, fsync of the folder.
 */

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

import { Document, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';

import { parseRuleFile } from '../../dsl/rule-file';
import { createLineIndex } from '../../dsl/source-text';

import type { Node as YamlNode, Pair } from 'yaml';

import type { Diagnostic } from '../../dsl/diagnostics';
import type { CompiledRule, ExampleTrace, RuleDefinition } from '../../dsl/rule';
import type { LineIndex } from '../../dsl/source-text';

/** What the file holds. */
export interface ApiRulesState {
  /** The API's rules in file order, with `enabled` as written. */
  readonly rules: readonly CompiledRule[];
  /** Rule id to the enabled state the API set, for rules of other files. */
  readonly overrides: ReadonlyMap<string, boolean>;
}

/** The result of reading the file. */
export interface ApiRulesRead {
  /** Null when the file has errors. */
  readonly state: ApiRulesState | null;
  readonly diagnostics: Diagnostic[];
  /** The text read, '' for a file that does not exist yet. */
  readonly text: string;
}

/** The state of an api file that does not exist yet. */
export const EMPTY_API_RULES: ApiRulesState = { rules: [], overrides: new Map() };

const OVERRIDES_KEY = 'overrides';
const OVERRIDE_FIELDS = ['id', 'enabled'];
const DEFAULT_FILE_MODE = 0o644;

const HEADER = [
  ' Rules created through the BeTrace rules API, and under overrides: the',
  ' enabled state set through the API on rules that other rule files hold.',
  ' The processor rewrites this file on every change made through the API.',
].join('\n');

/** Reads the file; one that does not exist yet holds nothing. */
export async function readApiRulesFile(file: string): Promise<ApiRulesRead> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: EMPTY_API_RULES, diagnostics: [], text: '' };
    return {
      state: null,
      text: '',
      diagnostics: [{
        code: 'ERR_DSL_FILE_UNREADABLE',
        severity: 'error',
        message: `cannot read the rules API file: ${(err as Error).message}`,
        file,
        line: 1,
        column: 1,
      }],
    };
  }
  return parseApiRulesText(text, file);
}

/**
 * Reads the file's text: the rules as any rule file (positions exact), and
 * the overrides apart.
 */
export function parseApiRulesText(text: string, file: string): ApiRulesRead {
  const doc = parseDocument(text, { version: '1.2', schema: 'core', prettyErrors: false });
  // A broken document is left whole to the rule-file reader, which reports it.
  const pair = doc.errors.length === 0 ? findOverridesPair(doc.contents) : undefined;
  const index = createLineIndex(text);
  const overrides = new Map<string, boolean>();
  const diagnostics: Diagnostic[] = [];
  let rulesText = text;
  if (pair !== undefined) {
    readOverrides(pair.value as YamlNode | null, { file, index, diagnostics, overrides, keyNode: pair.key as YamlNode });
    rulesText = blankOut(text, (pair.key as YamlNode).range![0], overridesEnd(text, pair));
  }
  const rules = parseRuleFile(rulesText, file);
  diagnostics.push(...rules.diagnostics);
  const failed = diagnostics.some((d) => d.severity === 'error');
  return { state: failed ? null : { rules: rules.rules, overrides }, diagnostics, text };
}

/** The file's text for a state: rules in the rule-file shape, then the overrides. */
export function formatApiRulesFile(state: ApiRulesState): string {
  const content: Record<string, unknown> = { rules: state.rules.map(toFileFields) };
  if (state.overrides.size > 0) {
    content[OVERRIDES_KEY] = [...state.overrides]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, enabled]) => ({ id, enabled }));
  }
  const doc = new Document(content, { version: '1.2' });
  doc.commentBefore = HEADER;
  // Text that a block scalar cannot hold (trailing spaces on a line) is
  // written double-quoted on one line: the folded multi-line form does not
  // read back to the same text for every input.
  return doc.toString({ lineWidth: 0, blockQuote: 'literal', indentSeq: true, doubleQuotedAsJSON: true });
}

/** A digest of the file's text, to tell the processor's own writes from edits by hand. */
export function digestText(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Writes the text so that a reader (or a crash) sees the old file or the new
 * one, never a part. The mode of an existing file is kept.
 */
export async function writeApiRulesFile(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const mode = await fs.stat(file).then((s) => s.mode & 0o777, () => DEFAULT_FILE_MODE);
  // A dot name ending in .tmp is never taken for a rule file by the watcher or a glob.
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(temp, 'wx', mode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncFolder(dir);
}

async function syncFolder(dir: string): Promise<void> {
  // The rename is durable only once the folder entry is; some file systems
  // cannot fsync a folder, and the write has happened either way.
  const handle = await fs.open(dir, 'r').catch(() => null);
  if (handle === null) return;
  await handle.sync().catch(() => undefined);
  await handle.close();
}

function toFileFields(rule: RuleDefinition): Record<string, unknown> {
  const out: Record<string, unknown> = { id: rule.id };
  if (rule.name !== rule.id) out.name = rule.name;
  if (rule.description !== '') out.description = rule.description;
  out.severity = rule.severity.toLowerCase();
  out.enabled = rule.enabled;
  if (rule.dialect !== 'current') out.dialect = rule.dialect;
  if (rule.complianceFrameworks.length > 0) out.compliance_frameworks = [...rule.complianceFrameworks];
  if (rule.compliance.length > 0) out.compliance = rule.compliance.map((c) => ({ framework: c.framework, control: c.control }));
  if (rule.tags.length > 0) out.tags = [...rule.tags];
  out.condition = rule.condition;
  if (rule.exampleViolation !== undefined) out.example_violation = toExampleFields(rule.exampleViolation);
  if (rule.examplePass !== undefined) out.example_pass = toExampleFields(rule.examplePass);
  return out;
}

function toExampleFields(example: ExampleTrace): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (example.description !== undefined) out.description = example.description;
  out.trace = example.trace.map((s) => ({ ...s }));
  return out;
}

function findOverridesPair(contents: unknown): Pair | undefined {
  if (!isMap(contents)) return undefined;
  for (const item of contents.items) {
    if (isPair(item) && isScalar(item.key) && item.key.value === OVERRIDES_KEY) return item;
  }
  return undefined;
}

function overridesEnd(text: string, pair: Pair): number {
  const key = pair.key as YamlNode;
  const value = pair.value as YamlNode | null;
  const lineEnd = text.indexOf('\n', key.range![1]);
  const keyLineEnd = lineEnd === -1 ? text.length : lineEnd;
  return Math.max(keyLineEnd, value?.range?.[2] ?? 0);
}

/** Replaces a range with spaces, keeping line breaks, so positions after it stay put. */
function blankOut(text: string, start: number, end: number): string {
  return text.slice(0, start) + text.slice(start, end).replace(/[^\n]/g, ' ') + text.slice(end);
}

interface OverrideContext {
  readonly file: string;
  readonly index: LineIndex;
  readonly diagnostics: Diagnostic[];
  readonly overrides: Map<string, boolean>;
  readonly keyNode: YamlNode;
}

function readOverrides(value: YamlNode | null, ctx: OverrideContext): void {
  if (value === null || (isScalar(value) && value.value === null)) return;
  if (!isSeq(value)) {
    report(ctx, value, 'overrides: must be a list of {id, enabled}');
    return;
  }
  for (const item of value.items as YamlNode[]) {
    if (!isMap(item)) {
      report(ctx, item, 'an override must be a mapping {id, enabled}');
      continue;
    }
    let id: string | null = null;
    let enabled: boolean | null = null;
    for (const entry of item.items) {
      const key = isScalar(entry.key) ? String(entry.key.value) : '';
      const v = entry.value as YamlNode | null;
      if (!OVERRIDE_FIELDS.includes(key)) report(ctx, entry.key as YamlNode, `unknown key "${key}" in an override (it takes id and enabled)`);
      else if (key === 'id' && isScalar(v) && typeof v.value === 'string' && v.value !== '') id = v.value;
      else if (key === 'enabled' && isScalar(v) && typeof v.value === 'boolean') enabled = v.value;
      else report(ctx, v ?? (entry.key as YamlNode), key === 'id' ? 'an override id must be a rule id' : 'an override enabled must be true or false');
    }
    if (id === null || enabled === null) {
      if (!item.items.some((e) => isScalar(e.key) && e.key.value === (id === null ? 'id' : 'enabled'))) {
        report(ctx, item, `an override has no ${id === null ? 'id' : 'enabled'}`);
      }
      continue;
    }
    if (ctx.overrides.has(id)) {
      report(ctx, item, `a second override for rule "${id}"`);
      continue;
    }
    ctx.overrides.set(id, enabled);
  }
}

function report(ctx: OverrideContext, node: YamlNode | null, message: string): void {
  const offset = node?.range?.[0] ?? ctx.keyNode.range?.[0] ?? 0;
  const at = ctx.index.positionAt(offset);
  ctx.diagnostics.push({
    code: 'ERR_ADMIN_BAD_OVERRIDE',
    severity: 'error',
    message,
    file: ctx.file,
    line: at.line,
    column: at.column,
    offset,
  });
}
