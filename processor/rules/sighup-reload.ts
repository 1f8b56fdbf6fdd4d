/**
 * SIGHUP reloads the rules, as operators expect of a long-running daemon.
 * Listening for it also stops Node from ending the process on SIGHUP.
 */

import type { EventEmitter } from 'node:events';

import type { Logger } from '../log';
import type { ReloadOutcome } from './rule-manager';

/** The part of the rule manager that SIGHUP needs. */
export interface Reloadable {
  reload(reason: 'sighup'): Promise<ReloadOutcome>;
}

/**
 * The SIGHUP handler: starts a reload and logs when it cannot even run
 * (a failed compile is logged by the reload itself).
 */
export function createSighupHandler(target: Reloadable, logger: Logger): () => void {
  const log = logger.child({ component: 'rules' });
  return () => {
    log.info({ signal: 'SIGHUP' }, 'reloading rules');
    target.reload('sighup').catch((err: unknown) => log.error({ err }, 'rule reload failed'));
  };
}

/**
 * Installs the handler on `signals` (the process unless given); returns the
 * function that removes it again.
 */
export function installSighupReload(target: Reloadable, logger: Logger, signals: EventEmitter = process): () => void {
  const handler = createSighupHandler(target, logger);
  signals.on('SIGHUP', handler);
  return () => {
    signals.removeListener('SIGHUP', handler);
  };
}
