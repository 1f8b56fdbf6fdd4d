/**
 * One processor of the Redis fleet benchmark in a process of its own:
 * `node redis-fleet-member.js CONFIG`. Prints one JSON line with its
 * endpoints once it listens; SIGTERM shuts it down. Started by
 * redis-fleet.js; not meant to be run alone.
 */

import { loadConfigFile } from '../config/load';
import { createLogger } from '../processor/log';
import { startService } from '../processor/service';

async function main(): Promise<void> {
  const config = loadConfigFile(process.argv[2], {});
  const service = await startService(config, { logger: createLogger('warn') });
  process.stdout.write(`${JSON.stringify(service.endpoints())}\n`);
  process.once('SIGTERM', () => {
    void service.shutdown().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(2);
});
