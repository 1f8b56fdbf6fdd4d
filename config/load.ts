/**
 * Loading a configuration: YAML 1.2 (core schema) parse, merge onto the
 * defaults while checking every key against the schema, environment
 * overrides, cross-key checks, deep freeze. Every problem found is reported
 * at once in one ConfigError; nothing half-valid is ever returned.
 */

import fs from 'node:fs';
import path from 'node:path';

import { LineCounter, parseDocument } from 'yaml';

import { BUNDLED_RULES_DIR } from '../processor/paths';
import { ConfigError } from './config-error';
import { createDefaultConfig } from './defaults';
import { readConfigDocument } from './read-document';
import { validateConfig } from './validate';

import type { YAMLError } from 'yaml';

import type { ConfigDiagnostic } from './errors';
import type { Position } from './read-document';
import type { Config } from './types';
import type { Locate, Location } from './validate';

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

/** The file name diagnostics of the embedded default carry. */
export const EMBEDDED_SOURCE_LABEL = '<embedded default>';

/**
 * The environment variables read, each with the YAML key it overrides. An
 * empty variable counts as unset. OTEL_* variables belong to the
 * applications' SDKs and are never read.
 */
const ENV_OVERRIDES = {
  BETRACE_EXPORTER_OTLP_ENDPOINT: 'exporters.otlp.endpoint',
  BETRACE_SIGNING_KEY: 'signing.key_file',
  BETRACE_ADMIN_TOKEN: 'admin.token_file',
} as const;

/** Reads and validates the config file at `file`; throws a ConfigError listing every problem. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{
      code: 'ERR_CONFIG_READ_FAILED',
      message: `cannot read the config file (${describeReadError(err)})`,
      path: '',
      file,
      line: 0,
      column: 0,
    }]);
  }
  return parseConfig(text, file, env);
}

/**
 * Parses and validates config text. `source` is the file it came from: it
 * names the file in diagnostics, and relative paths in the config are
 * resolved against its folder (against the working folder when '').
 */
export function parseConfig(
  text: string,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const file = source === '' ? '<config>' : source;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    schema: 'core',
    version: '1.2',
    // Duplicate keys are reported by the reader, together with the other problems.
    uniqueKeys: false,
  });
  const syntax = [...doc.errors, ...doc.warnings].map((e) =>
    toSyntaxDiagnostic(e, file, lineCounter),
  );
  if (syntax.length > 0) {
    // The tree of a broken document is a guess; checking it would only add noise.
    throw new ConfigError(sortDiagnostics(syntax));
  }

  const config = createDefaultConfig() as Mutable<Config>;
  config.source = source === '' ? '' : path.resolve(source);
  const baseDir = source === '' ? process.cwd() : path.dirname(path.resolve(source));
  const target = config as unknown as Record<string, unknown>;
  const reading = readConfigDocument(doc, lineCounter, target, { file, baseDir });
  // A protocol is on only when listed; `grpc:` with no value is listed.
  if (!reading.positions.has('receivers.otlp.protocols.grpc')) config.receivers.grpc = null;
  if (!reading.positions.has('receivers.otlp.protocols.http')) config.receivers.http = null;

  const overrides = applyEnvironment(config, env);
  const locate = createLocator(file, reading.positions, overrides);
  // Cross-key problems come after the problems of single keys: a misspelt
  // `exporters` is the cause of "nothing goes out", so it is named first.
  return finish(config, [
    ...sortDiagnostics(reading.diagnostics),
    ...sortDiagnostics(validateConfig(config, locate, createRejectedCheck(reading.rejected))),
  ]);
}

/**
 * The configuration of `betrace serve` without --config: OTLP/gRPC on
 * 127.0.0.1:4317 and OTLP/HTTP on 127.0.0.1:4318, the bundled example
 * rules, the memory buffer, the console exporter and the admin endpoint on
 * 127.0.0.1:8888. The environment overrides apply to it too.
 */
export function embeddedDefaultConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = createDefaultConfig() as Mutable<Config>;
  config.rules.files = [path.join(BUNDLED_RULES_DIR, '*.yaml')];
  config.exporters.console.enabled = true;
  const overrides = applyEnvironment(config, env);
  const locate = createLocator(EMBEDDED_SOURCE_LABEL, new Map(), overrides, false);
  return finish(config, sortDiagnostics(validateConfig(config, locate)));
}

/** Applies the BETRACE_* variables; returns the YAML keys they replaced, with the variable. */
function applyEnvironment(config: Mutable<Config>, env: NodeJS.ProcessEnv): Map<string, string> {
  const overrides = new Map<string, string>();
  const endpoint = env.BETRACE_EXPORTER_OTLP_ENDPOINT ?? '';
  if (endpoint !== '') {
    config.exporters.otlp.endpoint = endpoint;
    overrides.set(ENV_OVERRIDES.BETRACE_EXPORTER_OTLP_ENDPOINT, 'BETRACE_EXPORTER_OTLP_ENDPOINT');
  }
  const signingKey = env.BETRACE_SIGNING_KEY ?? '';
  if (signingKey !== '') {
    config.signing.keyFromEnv = signingKey;
    // The variable replaces the key file rather than adding a second source of keys.
    config.signing.keyFile = '';
    overrides.set(ENV_OVERRIDES.BETRACE_SIGNING_KEY, 'BETRACE_SIGNING_KEY');
  }
  const adminToken = env.BETRACE_ADMIN_TOKEN ?? '';
  if (adminToken !== '') {
    config.admin.tokenFromEnv = adminToken;
    config.admin.tokenFile = '';
    overrides.set(ENV_OVERRIDES.BETRACE_ADMIN_TOKEN, 'BETRACE_ADMIN_TOKEN');
  }
  return overrides;
}

function createLocator(
  file: string,
  positions: ReadonlyMap<string, Position>,
  overrides: ReadonlyMap<string, string>,
  inFile = true,
): Locate {
  return (yamlPath: string): Location => {
    const variable = overrides.get(yamlPath);
    if (variable !== undefined) return { file: `$${variable}`, line: 0, column: 0 };
    // A key left at its default has no place of its own: point at its closest written parent.
    for (let p = yamlPath; p !== ''; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
      const found = positions.get(p);
      if (found !== undefined) return { file, line: found.line, column: found.column };
    }
    return inFile ? { file, line: 1, column: 1 } : { file, line: 0, column: 0 };
  };
}

function createRejectedCheck(rejected: ReadonlySet<string>): (yamlPath: string) => boolean {
  return (yamlPath) => {
    for (const r of rejected) {
      if (r === yamlPath || yamlPath.startsWith(`${r}.`)) return true;
      if (r.startsWith(`${yamlPath}.`)) return true;
    }
    return false;
  };
}

function finish(config: Mutable<Config>, diagnostics: ConfigDiagnostic[]): Config {
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);
  return deepFreeze(config);
}

/** File order; problems without a position (environment) last, in the order found. */
function sortDiagnostics(diagnostics: ConfigDiagnostic[]): ConfigDiagnostic[] {
  const rank = (d: ConfigDiagnostic): number => (d.line === 0 ? Number.MAX_SAFE_INTEGER : d.line);
  return diagnostics
    .map((d, index) => ({ d, index }))
    .sort((a, b) => rank(a.d) - rank(b.d) || a.d.column - b.d.column || a.index - b.index)
    .map(({ d }) => d);
}

function toSyntaxDiagnostic(
  err: YAMLError,
  file: string,
  lineCounter: LineCounter,
): ConfigDiagnostic {
  const { line, col } = lineCounter.linePos(err.pos[0]);
  const message = err.code === 'MULTIPLE_DOCS'
    ? 'the file holds more than one YAML document; a config is one document'
    : err.message.charAt(0).toLowerCase() + err.message.slice(1).replace(/\.$/, '');
  return { code: 'ERR_CONFIG_YAML_SYNTAX', message, path: '', file, line, column: col };
}

function describeReadError(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
