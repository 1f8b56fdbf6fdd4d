/**
 * Where signing keys come from. The processor signs through a KeyProvider
 * and never reads key material any other way, so this interface is the seam
 * where a cloud KMS or Vault provider would plug in. Only the `local`
 * provider (a key ring file or BETRACE_SIGNING_KEY) exists.
 */

/** One HMAC key. */
export interface SigningKey {
  /** Written into `betrace.signature.key_id`; letters, digits, ".", "_", "-", at most 64. */
  readonly id: string;
  /** The HMAC key bytes; at least 32. */
  readonly secret: Buffer;
  /** ISO 8601 time the key was made; '' when unknown (a key from BETRACE_SIGNING_KEY). */
  readonly createdAt: string;
}

/**
 * A set of keys with exactly one active key: new spans are signed with the
 * active key, the older keys stay so that spans signed before a rotation
 * still verify.
 */
export interface KeyRing {
  /** Format version of the key ring file; 1 is the only one. */
  readonly version: 1;
  readonly activeKeyId: string;
  /** Oldest first; ids are unique and one of them is activeKeyId. */
  readonly keys: readonly SigningKey[];
}

/**
 * Hands out keys to the signer. Calls are synchronous because the signer
 * runs on the pipeline's path: a remote provider (cloud KMS, Vault) would
 * fetch or unwrap its data keys at startup and on its own refresh schedule,
 * and answer these calls from memory.
 */
export interface KeyProvider {
  /** The key new signatures use. */
  activeKey(): SigningKey;
  /** A key by id, for verification; undefined when the provider has no such key. */
  keyById(id: string): SigningKey | undefined;
  /** One line for the startup log: where the keys come from and the active key id, never a secret. */
  describe(): string;
}

/** The key of `ring` with id `id`, or undefined. */
export function findKey(ring: KeyRing, id: string): SigningKey | undefined {
  // Rings hold a handful of keys, so a scan beats keeping a map in sync.
  for (const key of ring.keys) {
    if (key.id === id) return key;
  }
  return undefined;
}
