/**
 * Watches the rule files (`rules.watch`), or another file the processor
 * reloads (the signing key ring), and reports changes, debounced, so that an
 * editor's save (often a write, a rename and a chmod) is one reload.
 * Folders are watched rather than files: a file replaced by rename keeps
 * being seen, and a glob pattern's folder shows new files too.
 */

import fs from 'node:fs';
import path from 'node:path';

import type { Logger } from '../log';

/** Quiet time after the last change before the reload, by default. */
export const DEFAULT_WATCH_DEBOUNCE_MS = 200;

const GLOB_CHARS = /[*?[]/;
/** Names editors and atomic writers use for temporary files; never rule files. */
const TEMPORARY_NAME = /(^\.|~$|\.sw[a-p]$|\.tmp$)/;
/**
 * A mounted Kubernetes ConfigMap or Secret updates by pointing this link at
 * a new folder; the rule files are links through it and never change name.
 */
const ATOMIC_WRITER_LINK = '..data';

/** What to watch and whom to tell. */
export interface RuleWatcherOptions {
  /** `rules.files`: absolute paths or glob patterns. */
  readonly patterns: readonly string[];
  /** `rules.api_file`, absolute; '' when none (hand edits to it are reloaded too). */
  readonly apiFile: string;
  readonly debounceMs?: number;
  /** Receives the absolute paths changed since the last call (a folder when the name is unknown). */
  readonly onChange: (paths: ReadonlySet<string>) => void;
  readonly logger: Logger;
  /** What the files are, for the log: `rule` (default) or e.g. `key ring`. */
  readonly subject?: string;
  /** The log component; `rules/watch` by default. */
  readonly component?: string;
}

/** A running watcher. */
export interface RuleWatcher {
  /** The folders watched, for the startup log and tests. */
  readonly folders: readonly string[];
  close(): void;
}

/** What to watch in one folder. */
interface Target {
  readonly folder: string;
  readonly recursive: boolean;
  /** Base names that count; null: any name that is not a temporary file. */
  readonly names: Set<string> | null;
}

/** Starts watching; folders that do not exist are logged and skipped. */
export function createRuleWatcher(options: RuleWatcherOptions): RuleWatcher {
  const logger = options.logger.child({ component: options.component ?? 'rules/watch' });
  const subject = options.subject ?? 'rule';
  const debounceMs = options.debounceMs ?? DEFAULT_WATCH_DEBOUNCE_MS;
  const targets = toTargets(options.patterns, options.apiFile);
  let changed = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const flush = (): void => {
    timer = null;
    if (closed || changed.size === 0) return;
    const paths = changed;
    changed = new Set();
    options.onChange(paths);
  };
  const noticed = (file: string): void => {
    changed.add(file);
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(flush, debounceMs);
    timer.unref();
  };

  const watchers: fs.FSWatcher[] = [];
  const folders: string[] = [];
  for (const target of targets) {
    const watcher = watchTarget(target, noticed, logger, subject);
    if (watcher === null) continue;
    watchers.push(watcher);
    folders.push(target.folder);
  }
  logger.info({ folders, debounceMs }, `watching ${subject} files`);
  return {
    folders,
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}

function watchTarget(target: Target, noticed: (file: string) => void, logger: Logger, subject: string): fs.FSWatcher | null {
  let watcher: fs.FSWatcher;
  try {
    watcher = fs.watch(target.folder, { recursive: target.recursive, persistent: false });
  } catch (err) {
    logger.warn({ err, folder: target.folder }, `cannot watch a ${subject} folder; changes there need SIGHUP`);
    return null;
  }
  watcher.on('change', (_event, filename) => {
    if (filename === null || filename === undefined) {
      noticed(target.folder);
      return;
    }
    const name = String(filename);
    const base = path.basename(name);
    if (base === ATOMIC_WRITER_LINK) {
      noticed(path.join(target.folder, path.dirname(name)));
      return;
    }
    if (target.names !== null ? !target.names.has(base) : TEMPORARY_NAME.test(base)) return;
    noticed(path.join(target.folder, name));
  });
  watcher.on('error', (err) => {
    logger.warn({ err, folder: target.folder }, `stopped watching a ${subject} folder; changes there need SIGHUP`);
    watcher.close();
  });
  return watcher;
}

/** One target per folder: plain files watch their folder for their own name. */
function toTargets(patterns: readonly string[], apiFile: string): Target[] {
  const byFolder = new Map<string, Target>();
  const add = (folder: string, recursive: boolean, name: string | null): void => {
    const key = `${recursive ? 'r' : 'f'}:${folder}`;
    const found = byFolder.get(key);
    if (found === undefined) {
      byFolder.set(key, { folder, recursive, names: name === null ? null : new Set([name]) });
    } else if (found.names !== null) {
      if (name === null) byFolder.set(key, { ...found, names: null });
      else found.names.add(name);
    }
  };
  for (const pattern of patterns) {
    const absolute = path.resolve(pattern);
    if (GLOB_CHARS.test(absolute)) {
      const segments = absolute.split(path.sep);
      let fixed = 0;
      while (fixed < segments.length && !GLOB_CHARS.test(segments[fixed])) fixed++;
      const folder = segments.slice(0, fixed).join(path.sep) || path.sep;
      add(folder, segments.length - fixed > 1, null);
    } else if (isFolder(absolute)) {
      add(absolute, false, null);
    } else {
      add(path.dirname(absolute), false, path.basename(absolute));
    }
  }
  if (apiFile !== '') add(path.dirname(apiFile), false, path.basename(apiFile));
  return [...byFolder.values()];
}

function isFolder(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}
