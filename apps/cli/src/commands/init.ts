import { constants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { stringFlag, UsageError } from '../args.js';
import { EXIT, type CommandHandler } from '../io.js';

/** The starter config: one pipeline from an iPhone (or a folder) into a dated folder tree. */
export function starterConfig(source: 'iphone' | 'folder', from: string | undefined, to: string): Record<string, unknown> {
  const sourceStep = source === 'iphone' ? { use: 'iphone', with: {} } : { use: 'folder', with: { path: from ?? './DCIM' } };
  return {
    pipelines: {
      [source === 'iphone' ? 'iphone' : 'photos']: {
        source: sourceStep,
        sinks: [{ use: 'folder', with: { path: to, template: '{yyyy}/{yyyy}-{MM}' } }],
      },
    },
  };
}

export const initCommand: CommandHandler = async ({ args, cwd, stdout }) => {
  const source = stringFlag(args, 'source') ?? 'iphone';
  if (source !== 'iphone' && source !== 'folder') throw new UsageError(`--source must be iphone or folder (got ${source})`, 'init');
  if (args.positionals.length) throw new UsageError(`Unexpected argument ${args.positionals[0]}`, 'init');
  const from = stringFlag(args, 'from');
  if (from && source !== 'folder') throw new UsageError('--from only applies with --source folder', 'init');
  const target = resolve(cwd, stringFlag(args, 'config') ?? 'keepsake.config.json');
  if (!/\.json$/i.test(target)) throw new UsageError('init writes JSON: the config file name must end in .json', 'init');
  if (!stringFlag(args, 'config')) {
    for (const other of ['keepsake.config.yaml', 'keepsake.config.yml']) {
      if (await exists(resolve(cwd, other))) throw usageExists(resolve(cwd, other));
    }
  }
  const text = `${JSON.stringify(starterConfig(source, from, stringFlag(args, 'to') ?? './Photos'), null, 2)}\n`;
  // O_EXCL: refuse to overwrite, even if the file appears between a check and the write
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw usageExists(target);
    throw err;
  }
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
  const to = stringFlag(args, 'to') ?? './Photos';
  stdout.write(
    `Wrote ${target}\n\nNext:\n` +
      `  1. Make sure the destination folder exists (keepsake never creates it, so an unmounted disk is\n     never mistaken for an empty one): mkdir -p "${to}"\n` +
      (source === 'iphone' ? '  2. Connect the iPhone with a cable, unlock it and tap "Trust".\n' : '  2. Check the "path" of the folder source.\n') +
      '  3. keepsake doctor      # checks this machine\n  4. keepsake run --dry-run\n  5. keepsake run\n',
  );
  return EXIT.OK;
};

function usageExists(path: string): UsageError {
  return new UsageError(`${path} already exists; keepsake init never overwrites a config (edit it, or pass --config NEW.json)`, 'init');
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}
