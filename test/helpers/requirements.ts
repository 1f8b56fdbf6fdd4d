/**
 * Tests that need an outside program (redis-server, promtool) skip with a
 * visible reason where it is missing; CI sets BETRACE_REQUIRE_<TOOL>=1 so
 * that a missing program fails the run instead.
 */

import { spawnSync } from 'node:child_process';

/** Whether `command` runs on this machine. */
export function hasCommand(command: string): boolean {
  const probe = spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
  return probe.status === 0;
}

/**
 * `false` when the command is there (run the test); otherwise the skip
 * reason, or a thrown error when `requireEnv` is set to 1.
 */
export function skipUnless(command: string, requireEnv: string): false | string {
  if (hasCommand(command)) return false;
  const reason = `${command} is not installed`;
  if (process.env[requireEnv] === '1') {
    throw new Error(`${reason}, and ${requireEnv}=1 requires it`);
  }
  return `${reason} (set ${requireEnv}=1 to make this a failure)`;
}
