import { readFileSync } from 'node:fs';

/** The CLI's own package.json (next to `dist/` and `src/` alike). */
export const CLI_PACKAGE_JSON = new URL('../package.json', import.meta.url);

export function cliVersion(): string {
  return (JSON.parse(readFileSync(CLI_PACKAGE_JSON, 'utf8')) as { version: string }).version;
}
