/** Where a command writes, so tests can capture it. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Folder that relative paths are resolved against. */
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Exit codes of PRODUCT.md section 7. */
export const EXIT_OK = 0;
/** A rule, example or signature failed (check, test, verify). */
export const EXIT_FAILED = 1;
/** Usage error, unreadable input, or rules that do not compile (eval, serve). */
export const EXIT_USAGE = 2;

/** Thrown by argument parsing; the dispatcher prints it with the usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
}
