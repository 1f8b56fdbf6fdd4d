/**
 * The `local` key provider: a key ring in a YAML file, or one key from
 * BETRACE_SIGNING_KEY. The file looks like this (docs/signing.md):
 *
 *   version: 1
 *   active_key: key-20250301-3f9a61c0
 *   keys:
 *     - id: key-20250301-3f9a61c0
 *       created_at: "2025-03-01T09:30:00.000Z"
 *       secret: "<base64 of 32 or more random bytes>"
 *
 * It is written with mode 0600, through a temporary file in the same folder
 * and a rename, so a reader sees the old ring or the new one, never half.
 */

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';

import { BetraceError } from '../errors';
import { findKey } from './key-provider';

import type { Node as YamlNode, YAMLMap } from 'yaml';

import type { SigningErrorCode } from './errors';
import type { KeyProvider, KeyRing, SigningKey } from './key-provider';

/** Secrets shorter than this are refused: HMAC-SHA256 keys below the hash size weaken it. */
export const MIN_SECRET_BYTES = 32;
/** The shortest BETRACE_SIGNING_KEY accepted as a passphrase, in characters. */
export const MIN_PASSPHRASE_CHARS = 32;
/** Bytes of a generated secret. */
export const GENERATED_SECRET_BYTES = 32;
/** The variable that holds a single key. */
export const SIGNING_KEY_ENV = 'BETRACE_SIGNING_KEY';

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;
const FILE_MODE = 0o600;

const RING_FIELDS = ['version', 'active_key', 'keys'];
const KEY_FIELDS = ['id', 'created_at', 'secret'];

/**
 * Reads and checks a key ring file. Throws ERR_SIGNING_* errors whose
 * message names the file and, for problems inside it, the line and column.
 */
export function loadKeyRing(file: string): KeyRing {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw fail('ERR_SIGNING_KEY_FILE_READ', `cannot read key ring ${file}: ${describeIoError(err)}`, err);
  }
  return parseKeyRing(text, file);
}

/** Parses the text of a key ring file; `file` is only used in messages. */
export function parseKeyRing(text: string, file: string): KeyRing {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (node: YamlNode | null | undefined): string => {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };

  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const { line, col } = lineCounter.linePos(first.pos[0]);
    throw fail('ERR_SIGNING_KEY_RING_SYNTAX', `${file}:${line}:${col}: ${firstLine(first.message)}`);
  }
  return new RingReader(at).read(doc.contents as YamlNode | null);
}

/**
 * The key ring for a BETRACE_SIGNING_KEY value. The value (surrounding
 * white space removed) is read as hex when it is an even number of hex
 * digits, else as base64 when it is valid base64 of at least 32 bytes, else
 * as a passphrase whose UTF-8 bytes are the key. The key id is `env-` and the first 8 hex
 * digits of the SHA-256 of the key bytes, so a verifier holding the same
 * value finds the key. The value never appears in an error message.
 */
export function keyRingFromEnv(value: string): KeyRing {
  const secret = secretFromEnv(value.trim());
  const id = `env-${createHash('sha256').update(secret).digest('hex').slice(0, 8)}`;
  return { version: 1, activeKeyId: id, keys: [{ id, secret, createdAt: '' }] };
}

/** A KeyProvider over a loaded ring; `source` names it in describe(). */
export function createLocalKeyProvider(ring: KeyRing, source = 'local key ring'): KeyProvider {
  assertKeyRing(ring, source);
  const active = findKey(ring, ring.activeKeyId) as SigningKey;
  return {
    activeKey: () => active,
    keyById: (id) => findKey(ring, id),
    describe: () => `${source}: ${ring.keys.length} key(s), active key ${active.id}`,
  };
}

/** A local provider over a key ring file, which can read the file again. */
export interface KeyFileProvider extends KeyProvider {
  readonly file: string;
  /**
   * Reads the file again and signs with its active key from then on. A file
   * that does not load leaves the current ring in use and throws its
   * ERR_SIGNING_* error (with the line and column for problems inside it).
   */
  reload(): KeyRing;
}

/** Loads `file` (throwing as loadKeyRing does) into a provider that reload() refreshes. */
export function createKeyFileProvider(file: string): KeyFileProvider {
  let current = createLocalKeyProvider(loadKeyRing(file), file);
  return {
    file,
    activeKey: () => current.activeKey(),
    keyById: (id) => current.keyById(id),
    describe: () => current.describe(),
    reload() {
      const ring = loadKeyRing(file);
      current = createLocalKeyProvider(ring, file);
      return ring;
    },
  };
}

/** A new ring with one freshly generated key, active. */
export function generateKeyRing(now: Date = new Date()): KeyRing {
  const key = generateKey(now, []);
  return { version: 1, activeKeyId: key.id, keys: [key] };
}

/** A copy of `ring` with a new generated key made active; the old keys stay for verification. */
export function rotateKeyRing(ring: KeyRing, now: Date = new Date()): KeyRing {
  const key = generateKey(now, ring.keys);
  return { version: 1, activeKeyId: key.id, keys: [...ring.keys, key] };
}

/** Options of writeKeyRing. */
export interface WriteKeyRingOptions {
  /** When false, an existing file is left alone and ERR_SIGNING_KEY_FILE_EXISTS thrown. Default true. */
  readonly overwrite?: boolean;
}

/**
 * Writes `ring` to `file` with mode 0600, atomically: a temporary file in
 * the same folder, flushed to disk, then renamed (or, without overwrite,
 * hard-linked, which fails when the name is taken) over the target.
 */
export function writeKeyRing(file: string, ring: KeyRing, options: WriteKeyRingOptions = {}): void {
  assertKeyRing(ring, file);
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writePrivateFile(temp, formatKeyRing(ring));
    if (options.overwrite === false) publishExclusive(temp, file);
    else fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    if (err instanceof BetraceError) throw err;
    throw fail('ERR_SIGNING_KEY_FILE_WRITE', `cannot write key ring ${file}: ${describeIoError(err)}`, err);
  }
  syncFolder(dir);
}

/** The YAML text of a ring, as writeKeyRing writes it. */
export function formatKeyRing(ring: KeyRing): string {
  // Every string is double-quoted (JSON strings are valid YAML), so no id or
  // secret can be read back as a number, a boolean or a null.
  const lines = [
    '# BeTrace signing key ring. Keep it private: anyone holding a secret can',
    '# sign spans. New spans are signed with active_key; the other keys stay',
    '# so that spans signed before a rotation still verify.',
    'version: 1',
    `active_key: ${JSON.stringify(ring.activeKeyId)}`,
    'keys:',
  ];
  for (const key of ring.keys) {
    lines.push(`  - id: ${JSON.stringify(key.id)}`);
    if (key.createdAt !== '') lines.push(`    created_at: ${JSON.stringify(key.createdAt)}`);
    lines.push(`    secret: ${JSON.stringify(key.secret.toString('base64'))}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Throws the ERR_SIGNING_* error for the first way `ring` is not a usable key ring. */
export function assertKeyRing(ring: KeyRing, source: string): void {
  if (ring.version !== 1) {
    throw fail(
      'ERR_SIGNING_KEY_RING_VERSION',
      `${source}: key ring version ${String(ring.version)} is not supported (this processor reads version 1)`,
    );
  }
  const seen = new Set<string>();
  for (const key of ring.keys) {
    if (!KEY_ID.test(key.id)) throw fail('ERR_SIGNING_BAD_KEY_ID', `${source}: ${badKeyIdMessage(key.id)}`);
    if (seen.has(key.id)) {
      throw fail(
        'ERR_SIGNING_DUPLICATE_KEY_ID',
        `${source}: key id "${key.id}" appears twice`,
      );
    }
    seen.add(key.id);
    if (key.secret.length < MIN_SECRET_BYTES) {
      throw fail(
        'ERR_SIGNING_KEY_TOO_SHORT',
        `${source}: the secret of key "${key.id}" has ${key.secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed`,
      );
    }
  }
  if (!seen.has(ring.activeKeyId)) {
    throw fail(
      'ERR_SIGNING_UNKNOWN_ACTIVE_KEY',
      `${source}: the active key "${ring.activeKeyId}" is not in the key ring`,
    );
  }
}

/** A mapping entry: its value (null for `key:` alone) and where to point at it. */
interface Field {
  readonly value: YamlNode | null;
  readonly place: YamlNode;
}

/** Walks the parsed document; each problem throws at once with its place. */
class RingReader {
  constructor(private readonly at: (node: YamlNode | null | undefined) => string) {}

  read(root: YamlNode | null): KeyRing {
    if (!isMap(root)) {
      throw this.format(root, 'the key ring must be a mapping with version, active_key and keys');
    }
    const fields = this.fieldsOf(root, RING_FIELDS, '');
    const version = fields.get('version');
    if (version === undefined) throw this.format(root, 'version is missing (the current version is 1)');
    if (!isScalar(version.value) || version.value.value !== 1) {
      const shown = isScalar(version.value) ? JSON.stringify(version.value.value) : 'a collection';
      throw fail(
        'ERR_SIGNING_KEY_RING_VERSION',
        `${this.at(version.place)}: version ${shown} is not supported (this processor reads version 1)`,
      );
    }

    const keysField = fields.get('keys');
    if (keysField === undefined) throw this.format(root, 'keys is missing');
    const keysNode = keysField.value;
    if (!isSeq(keysNode) || keysNode.items.length === 0) {
      throw this.format(keysField.place, 'keys must be a list of at least one key');
    }
    const keys: SigningKey[] = [];
    const ids = new Set<string>();
    keysNode.items.forEach((item, i) => {
      const key = this.readKey(item as YamlNode, `keys[${i}]`);
      if (ids.has(key.id)) {
        throw fail(
          'ERR_SIGNING_DUPLICATE_KEY_ID',
          `${this.at(item as YamlNode)}: key id "${key.id}" appears twice`,
        );
      }
      ids.add(key.id);
      keys.push(key);
    });

    const active = fields.get('active_key');
    if (active === undefined) throw this.format(root, 'active_key is missing (the id of the key that signs)');
    const activeKeyId = this.string(active, 'active_key');
    if (!ids.has(activeKeyId)) {
      throw fail(
        'ERR_SIGNING_UNKNOWN_ACTIVE_KEY',
        `${this.at(active.place)}: active_key "${activeKeyId}" is not the id of a key in the list`,
      );
    }
    return { version: 1, activeKeyId, keys };
  }

  private readKey(node: YamlNode, where: string): SigningKey {
    if (!isMap(node)) throw this.format(node, `${where} must be a mapping with id, secret and created_at`);
    const fields = this.fieldsOf(node, KEY_FIELDS, `${where}.`);
    const idField = fields.get('id');
    if (idField === undefined) throw this.format(node, `${where}.id is missing`);
    const id = this.string(idField, `${where}.id`);
    if (!KEY_ID.test(id)) {
      throw fail(
        'ERR_SIGNING_BAD_KEY_ID',
        `${this.at(idField.place)}: ${badKeyIdMessage(id)}`,
      );
    }

    const secretField = fields.get('secret');
    if (secretField === undefined) throw this.format(node, `${where}.secret is missing`);
    const secretText = this.string(secretField, `${where}.secret`);
    if (!BASE64.test(secretText)) {
      throw fail(
        'ERR_SIGNING_BAD_SECRET',
        `${this.at(secretField.place)}: ${where}.secret is not base64 (padded, with + and /)`,
      );
    }
    const secret = Buffer.from(secretText, 'base64');
    if (secret.length < MIN_SECRET_BYTES) {
      throw fail(
        'ERR_SIGNING_KEY_TOO_SHORT',
        `${this.at(secretField.place)}: ${where}.secret has ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed`,
      );
    }

    const createdField = fields.get('created_at');
    const createdAt = createdField === undefined ? '' : this.string(createdField, `${where}.created_at`);
    if (createdAt !== '' && (!ISO_TIME.test(createdAt) || Number.isNaN(Date.parse(createdAt)))) {
      throw this.format(
        createdField?.place,
        `${where}.created_at must be an ISO 8601 time such as "2025-03-01T09:30:00Z"`,
      );
    }
    return { id, secret, createdAt };
  }

  /** The fields of a mapping by key; unknown keys are an error. */
  private fieldsOf(node: YAMLMap, allowed: readonly string[], prefix: string): Map<string, Field> {
    const fields = new Map<string, Field>();
    for (const pair of node.items) {
      const keyNode = pair.key as YamlNode;
      const name = isScalar(keyNode) ? String(keyNode.value) : '';
      if (!allowed.includes(name)) {
        throw this.format(keyNode, `unknown key "${prefix}${name}" (expected ${allowed.join(', ')})`);
      }
      const value = (pair.value as YamlNode | null) ?? null;
      // A key without a value (`secret:`) is reported at the key.
      fields.set(name, { value, place: value ?? keyNode });
    }
    return fields;
  }

  private string(field: Field, name: string): string {
    const node = field.value;
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    let shown = 'a collection';
    if (node === null || (isScalar(node) && node.value === null)) shown = 'empty';
    else if (isScalar(node)) shown = `${JSON.stringify(node.value)} (quote it)`;
    throw this.format(field.place, `${name} must be a string, not ${shown}`);
  }

  private format(node: YamlNode | null | undefined, message: string): BetraceError {
    return fail('ERR_SIGNING_KEY_RING_FORMAT', `${this.at(node)}: ${message}`);
  }
}

function secretFromEnv(value: string): Buffer {
  if (HEX.test(value)) {
    if (value.length >= MIN_SECRET_BYTES * 2) return Buffer.from(value, 'hex');
    throw fail(
      'ERR_SIGNING_KEY_TOO_SHORT',
      `${SIGNING_KEY_ENV} is hex of ${value.length / 2} bytes; at least ${MIN_SECRET_BYTES} are needed`,
    );
  }
  if (BASE64.test(value)) {
    const bytes = Buffer.from(value, 'base64');
    if (bytes.length >= MIN_SECRET_BYTES) return bytes;
  }
  if ([...value].length >= MIN_PASSPHRASE_CHARS) return Buffer.from(value, 'utf8');
  throw fail(
    'ERR_SIGNING_KEY_TOO_SHORT',
    `${SIGNING_KEY_ENV} must be hex or base64 of at least ${MIN_SECRET_BYTES} bytes, or a passphrase of at least ${MIN_PASSPHRASE_CHARS} characters`,
  );
}

function generateKey(now: Date, existing: readonly SigningKey[]): SigningKey {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  for (;;) {
    const id = `key-${day}-${randomBytes(4).toString('hex')}`;
    if (!existing.some((k) => k.id === id)) {
      return { id, secret: randomBytes(GENERATED_SECRET_BYTES), createdAt: now.toISOString() };
    }
  }
}

function writePrivateFile(file: string, text: string): void {
  const fd = fs.openSync(file, 'wx', FILE_MODE);
  try {
    // The open mode passes through the umask; fchmod makes it exactly 0600.
    fs.fchmodSync(fd, FILE_MODE);
    const bytes = Buffer.from(text, 'utf8');
    for (let written = 0; written < bytes.length;) {
      written += fs.writeSync(fd, bytes, written, bytes.length - written);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function publishExclusive(temp: string, file: string): void {
  try {
    fs.linkSync(temp, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw fail('ERR_SIGNING_KEY_FILE_EXISTS', `${file} already exists; not overwritten`);
    }
    // Some file systems have no hard links; fall back to a check, then rename.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    if (fs.existsSync(file)) {
      throw fail(
        'ERR_SIGNING_KEY_FILE_EXISTS',
        `${file} already exists; not overwritten`,
      );
    }
    fs.renameSync(temp, file);
    return;
  }
  fs.rmSync(temp, { force: true });
}

/** Flushes the folder entry of a rename; best effort, some platforms cannot open folders. */
function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // The rename itself is done; only its durability across a crash is less sure.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function badKeyIdMessage(id: string): string {
  return `key id ${JSON.stringify(id)} must be 1 to 64 letters, digits, ".", "_" or "-"`;
}

function describeIoError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file (ENOENT)';
  if (e.code === 'EACCES') return 'permission denied (EACCES)';
  if (e.code === 'EISDIR') return 'it is a folder (EISDIR)';
  return e.code ?? String(err);
}

function firstLine(message: string): string {
  const end = message.indexOf('\n');
  return end === -1 ? message : message.slice(0, end);
}

function fail(code: SigningErrorCode, message: string, cause?: unknown): BetraceError {
  return new BetraceError(code, message, cause === undefined ? {} : { cause });
}
