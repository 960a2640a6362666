import { spawn } from 'node:child_process';

/**
 * Another keepsake holding a ledger's run lock: a separate Node process that takes the lock
 * through core and keeps it until `crash()` SIGKILLs it (its row stays behind, its pid is gone).
 */
export async function holdLedgerLock(ledgerPath: string, command: string): Promise<{ pid: number; crash(): Promise<void> }> {
  const coreUrl = new URL('../../packages/core/dist/index.js', import.meta.url).href;
  const code = `const { Ledger, RunLock } = await import(${JSON.stringify(coreUrl)});
const ledger = Ledger.open(process.argv[1]);
RunLock.acquire(ledger, process.argv[2]);
console.log('held');
process.stdin.resume();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, ledgerPath, command], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`the lock holder exited (${c})`)));
  });
  return {
    pid: child.pid!,
    crash: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
