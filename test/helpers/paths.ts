import path from 'node:path';

/** The repository root, from the compiled test tree (dist/test/helpers). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** A path inside the repository's own test folder (sources, not compiled output). */
export function testPath(...parts: string[]): string {
  return path.join(REPO_ROOT, 'test', ...parts);
}
