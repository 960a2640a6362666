/**
 * What `keepsake status --json` does, as one fresh process: open the ledger, compute the status,
 * print it as JSON. status.ts times this next to the CLI, to separate the CLI's own cost.
 *
 *   node bench/safety/status-once.ts LEDGER_PATH
 */
import { Ledger } from '@keepsake/core';
import { computeStatus } from '@keepsake/safety';

const ledger = Ledger.open(process.argv[2]!);
try {
  process.stdout.write(`${JSON.stringify(computeStatus(ledger), null, 2)}\n`);
} finally {
  ledger.close();
}
