/**
 * The `betrace` command: subcommand dispatch and exit codes (PRODUCT.md 7).
 * Each subcommand lives in its own module and returns its exit code.
 */

import { EXIT_USAGE, UsageError, processIo } from './io';

import type { CliIo } from './io';

/** A subcommand: runs with its own arguments and resolves to an exit code. */
export type Command = (args: string[], io: CliIo) => Promise<number>;

interface CommandEntry {
  readonly summary: string;
  load(): Command;
}

const COMMANDS: Record<string, CommandEntry> = {
  serve: {
    summary: 'serve [--config FILE]            run the processor',
    load: () => require('./serve').serveCommand,
  },
  check: {
    summary: 'check FILE...                    compile rule files, print every diagnostic',
    load: () => require('./check').checkCommand,
  },
  test: {
    summary: 'test [--verbose] FILE...         run each rule\'s example traces',
    load: () => require('./test-examples').testCommand,
  },
  eval: {
    summary: 'eval --rules FILE [--all] TRACES...  evaluate OTLP/JSON trace files offline',
    load: () => require('./eval').evalCommand,
  },
  verify: {
    summary: 'verify [--keys FILE] [--require-signed] TRACES...  check span signatures',
    load: () => require('./verify').verifyCommand,
  },
  keys: {
    summary: 'keys generate --out FILE | rotate|list --keys FILE  manage the signing key ring',
    load: () => require('./keys').keysCommand,
  },
};

function usage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  betrace ${c.summary}`);
  return `usage:\n${lines.join('\n')}\n`;
}

/** Runs one command line (without `node` and the script) and resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version') {
    io.stdout.write(`${require('../paths').PRODUCT_VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    io.stderr.write(`betrace: unknown command "${name}"\n${usage()}`);
    return EXIT_USAGE;
  }
  try {
    return await entry.load()(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`betrace ${name}: ${err.message}\n${usage()}`);
      return EXIT_USAGE;
    }
    throw err;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`betrace: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = EXIT_USAGE;
    },
  );
}
