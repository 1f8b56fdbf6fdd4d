/**
 * `betrace verify [--keys FILE] [--require-signed] TRACES...`: checks the
 * signatures of the violation and evidence spans in OTLP/JSON files (one
 * ExportTraceServiceRequest per file, or one per line as the Collector's
 * file exporter writes them) against a key ring or BETRACE_SIGNING_KEY.
 * Prints a line per bad or unsigned span and a summary; exits 0 when every
 * signed span verifies, 1 on a bad signature (or, with --require-signed, an
 * unsigned span), 2 on a usage error or unreadable input.
 */

import fs from 'node:fs';
import path from 'node:path';

import { parseLosslessJson } from '../../proto/otlp-json';
import { BetraceError } from '../errors';
import { SIGNING_KEY_ENV, keyRingFromEnv, loadKeyRing } from '../signing/local-key-ring';
import { forEachEmittedSpan } from '../signing/otlp-json-spans';
import { checkSpanSignature } from '../signing/signer';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from './io';

import type { KeyRing } from '../signing/key-provider';
import type { JsonEmittedSpan } from '../signing/otlp-json-spans';
import type { CliIo } from './io';

interface VerifyArgs {
  readonly keyFile: string | null;
  readonly requireSigned: boolean;
  readonly traceFiles: string[];
}

interface Tally {
  valid: number;
  bad: number;
  unsigned: number;
}

/** Output is written in pieces of about this size rather than per line. */
const FLUSH_CHARS = 65536;

/** Runs `betrace verify` and resolves to its exit code. */
export async function verifyCommand(args: string[], io: CliIo): Promise<number> {
  const options = parseArgs(args);
  let ring: KeyRing;
  try {
    ring = loadKeys(options, io);
  } catch (err) {
    if (err instanceof BetraceError) return failInput(io, err.message);
    throw err;
  }

  const tally: Tally = { valid: 0, bad: 0, unsigned: 0 };
  const out = new LineBuffer(io);
  for (const file of options.traceFiles) {
    try {
      checkFile(file, io, (span) => out.write(verdictLine(span, ring, tally)));
    } catch (err) {
      if (!(err instanceof TraceFileError)) throw err;
      out.flush();
      return failInput(io, err.message);
    }
  }

  const checked = tally.valid + tally.bad + tally.unsigned;
  out.write(
    `${checked} span(s) checked in ${options.traceFiles.length} file(s): ` +
      `${tally.valid} valid, ${tally.bad} bad, ${tally.unsigned} unsigned\n`,
  );
  out.flush();
  if (tally.bad > 0) return EXIT_FAILED;
  if (options.requireSigned && tally.unsigned > 0) return EXIT_FAILED;
  return EXIT_OK;
}

function parseArgs(args: string[]): VerifyArgs {
  let keyFile: string | null = null;
  let requireSigned = false;
  const traceFiles: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--keys') {
      const value = args[++i];
      if (value === undefined || value === '') throw new UsageError('--keys needs a file');
      keyFile = value;
    } else if (arg.startsWith('--keys=')) {
      keyFile = arg.slice('--keys='.length);
      if (keyFile === '') throw new UsageError('--keys needs a file');
    } else if (arg === '--require-signed') {
      requireSigned = true;
    } else if (arg === '--') {
      traceFiles.push(...args.slice(i + 1));
      break;
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option "${arg}"`);
    } else {
      traceFiles.push(arg);
    }
  }
  if (traceFiles.length === 0) throw new UsageError('no trace files given');
  return { keyFile, requireSigned, traceFiles };
}

/** The key ring from --keys, else from BETRACE_SIGNING_KEY; an explicit file wins. */
function loadKeys(options: VerifyArgs, io: CliIo): KeyRing {
  if (options.keyFile !== null) return loadKeyRing(path.resolve(io.cwd, options.keyFile));
  const fromEnv = io.env[SIGNING_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return keyRingFromEnv(fromEnv);
  throw new UsageError(`no keys to verify with: give --keys FILE or set ${SIGNING_KEY_ENV}`);
}

/** An unreadable or malformed trace file: the message names the file and the place. */
class TraceFileError extends Error {}

function checkFile(file: string, io: CliIo, visit: (span: JsonEmittedSpan) => void): void {
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(io.cwd, file), 'utf8');
  } catch (err) {
    throw new TraceFileError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  for (const { request, line } of requestsIn(text, file)) {
    try {
      forEachEmittedSpan(request, visit);
    } catch (err) {
      if (!(err instanceof BetraceError)) throw err;
      throw new TraceFileError(`${file}${line === 0 ? '' : `:${line}`}: ${err.message}`);
    }
  }
}

/**
 * The requests of a file: the whole text when it is one JSON document, else
 * one per non-empty line. `line` is 0 for a whole-file document.
 */
function requestsIn(text: string, file: string): Array<{ request: unknown; line: number }> {
  let wholeError: unknown;
  try {
    return [{ request: parseLosslessJson(text), line: 0 }];
  } catch (err) {
    if (!(err instanceof BetraceError)) throw err;
    wholeError = err;
  }

  const lines = text.split('\n');
  const filled = lines.filter((l) => l.trim() !== '').length;
  if (filled === 0) return [];
  if (filled === 1) throw new TraceFileError(`${file}: ${(wholeError as Error).message}`);
  const requests: Array<{ request: unknown; line: number }> = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    try {
      requests.push({ request: parseLosslessJson(lines[i]), line: i + 1 });
    } catch (err) {
      if (!(err instanceof BetraceError)) throw err;
      // A first line that is no document of its own means one document
      // spread over lines (pretty-printed): its own error says where.
      if (requests.length === 0) throw new TraceFileError(`${file}: ${(wholeError as Error).message}`);
      // The parser counts lines within the one line it was given.
      const message = err.message.replace(/ at line 1, column (\d+)$/, ' at column $1');
      throw new TraceFileError(`${file}:${i + 1}: ${message}`);
    }
  }
  return requests;
}

/** The output line for one span ('' for a valid one), counted in `tally`. */
function verdictLine(span: JsonEmittedSpan, ring: KeyRing, tally: Tally): string {
  const where = `${span.traceId}/${span.spanId} ${span.name}`;
  if (!span.hasSignature) {
    tally.unsigned++;
    return `UNSIGNED ${where}\n`;
  }
  if (span.problem !== '') {
    tally.bad++;
    return `BAD ${where}: ${span.problem}\n`;
  }
  const check = checkSpanSignature(span, ring);
  if (check.status === 'valid') {
    tally.valid++;
    return '';
  }
  if (check.status === 'unsigned') {
    tally.unsigned++;
    return `UNSIGNED ${where}\n`;
  }
  tally.bad++;
  return `BAD ${where}: ${check.reason}\n`;
}

function failInput(io: CliIo, message: string): number {
  io.stderr.write(`betrace verify: ${message}\n`);
  return EXIT_USAGE;
}

class LineBuffer {
  private text = '';

  constructor(private readonly io: CliIo) {}

  write(line: string): void {
    this.text += line;
    if (this.text.length >= FLUSH_CHARS) this.flush();
  }

  flush(): void {
    if (this.text === '') return;
    this.io.stdout.write(this.text);
    this.text = '';
  }
}
