/**
 * Reads the signing key ring again when its file changes (a `betrace keys
 * rotate`, a Kubernetes Secret update) or on SIGHUP, so that a rotation
 * takes effect without a restart. A ring that does not load is logged with
 * its position and the keys in use stay.
 */

import { createRuleWatcher } from '../rules/rule-watcher';

import type { EventEmitter } from 'node:events';

import type { Logger } from '../log';
import type { KeyProvider } from './key-provider';
import type { KeyFileProvider } from './local-key-ring';

export interface KeyRingReloadOptions {
  readonly logger: Logger;
  /** Where SIGHUP comes from; the process by default. */
  readonly signals?: EventEmitter;
  /** Quiet time after a change to the file before it is read, in ms. */
  readonly debounceMs?: number;
}

/** A running reloader. */
export interface KeyRingReload {
  close(): void;
}

/** Whether `provider` reads a key ring file, which can then be reloaded. */
export function isKeyFileProvider(provider: KeyProvider | null): provider is KeyFileProvider {
  return provider !== null && typeof (provider as Partial<KeyFileProvider>).reload === 'function';
}

/** Starts watching the provider's file and listening for SIGHUP. */
export function startKeyRingReload(provider: KeyFileProvider, options: KeyRingReloadOptions): KeyRingReload {
  const log = options.logger.child({ component: 'signing' });
  const signals = options.signals ?? process;
  let activeKeyId = provider.activeKey().id;
  const reload = (reason: 'file' | 'sighup'): void => {
    try {
      const ring = provider.reload();
      const previousKeyId = activeKeyId;
      activeKeyId = ring.activeKeyId;
      log.info(
        { reason, keyFile: provider.file, keys: ring.keys.length, keyId: activeKeyId, previousKeyId },
        activeKeyId === previousKeyId ? 'key ring reloaded, active key unchanged' : 'key ring reloaded, new active key',
      );
    } catch (err) {
      log.error(
        { reason, keyFile: provider.file, keyId: activeKeyId, code: (err as { code?: string }).code },
        `key ring not reloaded, signing with the previous keys: ${(err as Error).message}`,
      );
    }
  };
  const watcher = createRuleWatcher({
    patterns: [provider.file],
    apiFile: '',
    debounceMs: options.debounceMs,
    onChange: () => reload('file'),
    logger: options.logger,
    subject: 'key ring',
    component: 'signing/watch',
  });
  const onSighup = (): void => reload('sighup');
  signals.on('SIGHUP', onSighup);
  return {
    close() {
      watcher.close();
      signals.removeListener('SIGHUP', onSighup);
    },
  };
}
