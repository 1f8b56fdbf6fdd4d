/**
 * `betrace keys`: manages the signing key ring file.
 *
 *   keys generate --out FILE [--force]   a new ring with one active key
 *   keys rotate --keys FILE              a new active key; old keys kept
 *   keys list --keys FILE                ids and creation times, no secrets
 *
 * generate and rotate print the new key id on stdout, alone, so that
 * scripts can capture it. Errors exit 2.
 */

import path from 'node:path';

import { BetraceError } from '../errors';
import { generateKeyRing, loadKeyRing, rotateKeyRing, writeKeyRing } from '../signing/local-key-ring';
import { EXIT_OK, EXIT_USAGE, UsageError } from './io';

import type { CliIo } from './io';

interface KeysArgs {
  readonly file: string;
  readonly force: boolean;
}

/** Runs `betrace keys SUBCOMMAND ...` and resolves to its exit code. */
export async function keysCommand(args: string[], io: CliIo): Promise<number> {
  const [subcommand, ...rest] = args;
  try {
    switch (subcommand) {
      case 'generate':
        return generate(parseArgs(rest, '--out', true), io);
      case 'rotate':
        return rotate(parseArgs(rest, '--keys', false), io);
      case 'list':
        return list(parseArgs(rest, '--keys', false), io);
      case undefined:
        throw new UsageError('keys needs a subcommand: generate, rotate or list');
      default:
        throw new UsageError(`unknown keys subcommand "${subcommand}" (expected generate, rotate or list)`);
    }
  } catch (err) {
    if (!(err instanceof BetraceError)) throw err;
    const hint = err.code === 'ERR_SIGNING_KEY_FILE_EXISTS' ? ' (use --force to replace it)' : '';
    io.stderr.write(`betrace keys ${subcommand}: ${err.message}${hint}\n`);
    return EXIT_USAGE;
  }
}

function generate(options: KeysArgs, io: CliIo): number {
  const file = path.resolve(io.cwd, options.file);
  const ring = generateKeyRing();
  writeKeyRing(file, ring, { overwrite: options.force });
  io.stdout.write(`${ring.activeKeyId}\n`);
  return EXIT_OK;
}

function rotate(options: KeysArgs, io: CliIo): number {
  const file = path.resolve(io.cwd, options.file);
  const ring = rotateKeyRing(loadKeyRing(file));
  writeKeyRing(file, ring);
  io.stdout.write(`${ring.activeKeyId}\n`);
  return EXIT_OK;
}

function list(options: KeysArgs, io: CliIo): number {
  const ring = loadKeyRing(path.resolve(io.cwd, options.file));
  let out = '';
  for (const key of ring.keys) {
    const created = key.createdAt === '' ? '-' : key.createdAt;
    out += `${key.id}\t${created}${key.id === ring.activeKeyId ? '\tactive' : ''}\n`;
  }
  io.stdout.write(out);
  return EXIT_OK;
}

/** Reads `FLAG FILE` (or `FLAG=FILE`) and, where allowed, `--force`. */
function parseArgs(args: string[], flag: string, allowForce: boolean): KeysArgs {
  let file: string | undefined;
  let force = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === flag) {
      file = args[++i];
      if (file === undefined || file === '') throw new UsageError(`${flag} needs a file`);
    } else if (arg.startsWith(`${flag}=`)) {
      file = arg.slice(flag.length + 1);
      if (file === '') throw new UsageError(`${flag} needs a file`);
    } else if (arg === '--force' && allowForce) {
      force = true;
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option "${arg}"`);
    } else {
      throw new UsageError(`unexpected argument "${arg}"`);
    }
  }
  if (file === undefined) throw new UsageError(`${flag} FILE is required`);
  return { file, force };
}
