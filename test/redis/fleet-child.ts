/**
 * One fleet member in a process of its own, for tests that kill it:
 * `node fleet-child.js CONFIG LEASE_MS POLL_MS`. Prints one JSON line with
 * its endpoints and instance ID once it listens; SIGTERM shuts it down.
 */

import { loadConfigFile } from '../../config/load';
import { createSilentLogger } from '../../processor/log';
import { startService } from '../../processor/service';

async function main(): Promise<void> {
  const [configPath, leaseMs, pollMs] = process.argv.slice(2);
  const config = loadConfigFile(configPath, {});
  const service = await startService(config, {
    logger: createSilentLogger(),
    fleet: { leaseMs: Number(leaseMs), rulesPollMs: Number(pollMs) },
  });
  process.stdout.write(`${JSON.stringify({ ...service.endpoints(), instanceId: service.fleet?.instanceId })}\n`);
  process.once('SIGTERM', () => {
    void service.shutdown().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(2);
});
