/**
 * Chooses the processor's key provider from the `signing` config and says
 * once, in the startup log, whether violation and evidence spans are signed.
 */

import fs from 'node:fs';

import { SIGNING_KEY_ENV, createKeyFileProvider, createLocalKeyProvider, keyRingFromEnv } from './local-key-ring';

import type { SigningConfig } from '../../config/types';
import type { Logger } from '../log';
import type { KeyProvider } from './key-provider';

/** The startup line when no key is configured. */
export const UNSIGNED_MESSAGE =
  'no signing key configured (signing.key_file or BETRACE_SIGNING_KEY): violation and evidence spans are unsigned';

/**
 * The key provider for `signing`, or null when no key is configured (spans
 * then go out unsigned). BETRACE_SIGNING_KEY wins over signing.key_file.
 * A key ring file gives a provider that can read it again (key-ring-reload.ts).
 * Throws the ERR_SIGNING_* error of an unreadable or malformed key. With a
 * logger, logs one line saying how spans are signed, or that they are not.
 */
export function createKeyProviderFromConfig(signing: SigningConfig, logger?: Logger): KeyProvider | null {
  const log = logger?.child({ component: 'signing' });
  if (signing.keyFromEnv !== '') {
    const provider = createLocalKeyProvider(keyRingFromEnv(signing.keyFromEnv), SIGNING_KEY_ENV);
    const ignoredKeyFile = signing.keyFile === '' ? undefined : signing.keyFile;
    log?.info(
      { keyProvider: signing.keyProvider, keyId: provider.activeKey().id, ignoredKeyFile },
      describeSigning(provider),
    );
    return provider;
  }
  if (signing.keyFile === '') {
    log?.warn({ keyProvider: signing.keyProvider }, UNSIGNED_MESSAGE);
    return null;
  }

  const provider = createKeyFileProvider(signing.keyFile);
  if (log !== undefined && isReadableByOthers(signing.keyFile)) {
    log.warn({ keyFile: signing.keyFile }, 'key ring file is readable by other users; chmod 600 it');
  }
  log?.info(
    { keyProvider: signing.keyProvider, keyFile: signing.keyFile, keyId: provider.activeKey().id },
    describeSigning(provider),
  );
  return provider;
}

/** One line saying how emitted spans are signed, or that they are not; never a secret. */
export function describeSigning(provider: KeyProvider | null): string {
  return provider === null ? UNSIGNED_MESSAGE : `signing spans with HMAC-SHA256, ${provider.describe()}`;
}

function isReadableByOthers(file: string): boolean {
  if (process.platform === 'win32') return false;
  try {
    return (fs.statSync(file).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}
