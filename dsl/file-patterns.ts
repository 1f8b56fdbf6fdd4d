/**
 * Expands rule-file arguments: `*`, `?`, `[abc]` within a path segment and
 * `**` for any number of folders, as shells do (names starting with a dot
 * are matched only by patterns that start with one). A folder stands for
 * the `.yaml` and `.yml` files directly inside it.
 */

import fs from 'node:fs/promises';
import path from 'node:path';

/** The files of the patterns in order, and the patterns that matched none. */
export interface ExpandedPatterns {
  /** Paths as the user spelled them (relative stays relative). */
  readonly files: string[];
  readonly unmatched: string[];
}

const GLOB_CHARS = /[*?[]/;

/** Expands every pattern against `cwd`; plain paths pass through unchecked. */
export async function expandFilePatterns(
  patterns: readonly string[],
  cwd: string,
): Promise<ExpandedPatterns> {
  const files: string[] = [];
  const unmatched: string[] = [];
  for (const pattern of patterns) {
    const found = GLOB_CHARS.test(pattern) ? await expandGlob(pattern, cwd) : await expandPlain(pattern, cwd);
    if (found.length === 0) unmatched.push(pattern);
    files.push(...found);
  }
  return { files, unmatched };
}

async function expandPlain(file: string, cwd: string): Promise<string[]> {
  const stat = await fs.stat(path.resolve(cwd, file)).catch(() => null);
  if (stat === null || !stat.isDirectory()) return [file];
  const names = await fs.readdir(path.resolve(cwd, file));
  return names.filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => path.join(file, n));
}

async function expandGlob(pattern: string, cwd: string): Promise<string[]> {
  const normalized = pattern.split(path.sep).join('/');
  const segments = normalized.split('/');
  const isAbsolute = path.isAbsolute(pattern);
  // The leading segments without glob characters are walked as they are.
  let fixed = 0;
  while (fixed < segments.length - 1 && !GLOB_CHARS.test(segments[fixed])) fixed++;
  const base = segments.slice(0, fixed).join('/') || (isAbsolute ? '/' : '');
  const matches: string[] = [];
  await walk(base, segments.slice(fixed), cwd, matches);
  return matches.sort();
}

async function walk(dir: string, rest: readonly string[], cwd: string, out: string[]): Promise<void> {
  if (rest.length === 0) {
    out.push(dir);
    return;
  }
  const [segment, ...tail] = rest;
  const absolute = path.resolve(cwd, dir === '' ? '.' : dir);
  const entries = await fs.readdir(absolute, { withFileTypes: true }).catch(() => null);
  if (entries === null) return;
  if (segment === '**') {
    await walk(dir, tail, cwd, out);
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('.')) await walk(join(dir, e.name), rest, cwd, out);
    }
    return;
  }
  const re = segmentPattern(segment);
  for (const e of entries) {
    if (!re.test(e.name)) continue;
    if (tail.length > 0 && !e.isDirectory()) continue;
    await walk(join(dir, e.name), tail, cwd, out);
  }
}

function join(dir: string, name: string): string {
  if (dir === '') return name;
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

function segmentPattern(segment: string): RegExp {
  let re = segment.startsWith('.') ? '' : '(?!\\.)';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close === -1) {
        re += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
