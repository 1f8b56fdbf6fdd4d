/**
 * `betrace serve [--config FILE]`: runs the processor until SIGTERM or
 * SIGINT, then stops receiving, evaluates and flushes what is buffered, and
 * exits 0. Without --config it runs on the embedded default.
 */

import { ConfigError } from '../../config/config-error';
import { embeddedDefaultConfig, loadConfigFile } from '../../config/load';
import { BetraceError } from '../errors';
import { createLogger } from '../log';
import { RulesDoNotCompileError, startService } from '../service';
import { EXIT_OK, EXIT_USAGE, UsageError } from './io';

import type { Config } from '../../config/types';
import type { CliIo } from './io';

function parseArgs(args: string[]): { configPath: string | null } {
  let configPath: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--config' || arg === '-c') {
      const value = args[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a file`);
      configPath = value;
    } else if (arg.startsWith('--config=')) {
      configPath = arg.slice('--config='.length);
    } else {
      throw new UsageError(`unexpected argument "${arg}"`);
    }
  }
  return { configPath };
}

export async function serveCommand(args: string[], io: CliIo): Promise<number> {
  const { configPath } = parseArgs(args);
  let config: Config;
  try {
    config = configPath === null
      ? embeddedDefaultConfig(io.env)
      : loadConfigFile(require('node:path').resolve(io.cwd, configPath), io.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`betrace serve: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  const logger = createLogger(config.telemetry.logs.level);
  if (configPath === null) logger.info({}, 'no --config given: running on the embedded default');
  let service;
  try {
    service = await startService(config, { logger, consoleOut: io.stdout });
  } catch (err) {
    logger.flush();
    if (err instanceof RulesDoNotCompileError || err instanceof BetraceError) {
      io.stderr.write(`betrace serve: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  const running = service;
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'signal received');
      process.removeListener('SIGTERM', stop);
      process.removeListener('SIGINT', stop);
      void running.shutdown().then(resolve, (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // Without a listener Node opens its debugger on SIGUSR1, which would let
    // any local process run code inside the processor.
    process.on('SIGUSR1', () => logger.warn({ signal: 'SIGUSR1' }, 'signal ignored'));
  });
  logger.flush();
  return EXIT_OK;
}
