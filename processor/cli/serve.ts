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
import type { Logger } from '../log';
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
  logProcessWarnings(logger);
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
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      // A second Ctrl-C, or a supervisor's SIGTERM after SIGINT, must not cut
      // the flush short: shutdown_timeout already bounds it.
      if (stopping) {
        logger.warn({ signal, shutdownTimeoutMs: config.shutdownTimeoutMs }, 'already shutting down; signal ignored');
        return;
      }
      stopping = true;
      logger.info({ signal }, 'signal received');
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
  exitSoonIfHeldOpen(logger);
  logger.flush();
  return EXIT_OK;
}

/** How long a stopped processor waits for stray handles to close before it exits anyway. */
const EXIT_GRACE_MS = 2000;

/**
 * Everything is flushed and closed at this point, but a library can keep a
 * socket open past its client's close() (grpc-js does with a TLS handshake
 * that a downstream never answers), which would keep the process running.
 */
function exitSoonIfHeldOpen(logger: Logger): void {
  setTimeout(() => {
    logger.warn({ graceMs: EXIT_GRACE_MS }, 'connections still open after shutdown; exiting anyway');
    logger.flush(() => process.exit(process.exitCode ?? EXIT_OK));
  }, EXIT_GRACE_MS).unref();
}

/**
 * Node prints process warnings (deprecations of libraries, TLS notes) as
 * plain text on stderr, which would break a JSON log; log them instead.
 */
function logProcessWarnings(logger: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    logger.warn({ warning: warning.name, code: warning.code }, warning.message);
  });
}
