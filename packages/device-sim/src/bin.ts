#!/usr/bin/env node
/**
 * keepsake-sim [--socket PATH | --tcp PORT] [--assets N] [--seed S] [--devices N] [--video-mb M]
 * Serves a simulated iPhone and prints the USBMUXD_SOCKET_ADDRESS to export.
 */
import { parseArgs } from 'node:util';
import { Simulator } from './simulator.js';

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    tcp: { type: 'string' },
    assets: { type: 'string', default: '60' },
    seed: { type: 'string', default: '1' },
    devices: { type: 'string', default: '1' },
    'video-mb': { type: 'string', default: '8' },
    name: { type: 'string', default: 'Simulated iPhone' },
    locked: { type: 'boolean', default: false },
    deny: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'keepsake-sim [--socket PATH | --tcp PORT] [--assets N] [--seed S] [--devices N] [--video-mb M] [--name NAME] [--locked] [--deny]\n' +
      'Serves simulated iPhones over a usbmuxd socket; export the printed USBMUXD_SOCKET_ADDRESS and run keepsake or idevice_id -l.\n',
  );
  process.exit(0);
}

const int = (v: string | undefined, what: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`keepsake-sim: --${what} must be a whole number\n`);
    process.exit(2);
  }
  return n;
};

const count = int(values.devices, 'devices');
const sim = await Simulator.start({
  socketPath: values.socket,
  tcpPort: values.tcp !== undefined ? int(values.tcp, 'tcp') : undefined,
});
for (let i = 0; i < count; i++) {
  sim.attach({
    name: count > 1 ? `${values.name} ${i + 1}` : values.name,
    locked: values.locked,
    trust: values.deny ? 'deny' : 'accept',
    cameraRoll: {
      assets: int(values.assets, 'assets'),
      seed: int(values.seed, 'seed') + i,
      largeVideoBytes: int(values['video-mb'], 'video-mb') * 1024 * 1024,
    },
  });
}
process.stdout.write(`export USBMUXD_SOCKET_ADDRESS=${sim.address}\n`);
for (const d of sim.devices) process.stderr.write(`keepsake-sim: ${d.name} (${d.udid}) with ${d.fs.files.size} files\n`);
const shutdown = () => {
  void sim.stop().then(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
