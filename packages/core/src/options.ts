import { createRequire } from 'node:module';
import { KeepsakeError } from './errors.js';
import type { ContributionManifest } from './manifest.js';

type Validator = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string; keyword: string; params: Record<string, unknown> }[] | null };
let ajv: { compile(schema: object): Validator } | undefined;
const compiled = new WeakMap<object, Validator>();

function getAjv() {
  if (!ajv) {
    // loaded on first validation so `keepsake --help` stays fast
    const Ajv = createRequire(import.meta.url)('ajv') as { default: new (o: object) => { compile(schema: object): Validator } };
    ajv = new Ajv.default({ allErrors: true, strict: false, useDefaults: false });
  }
  return ajv;
}

/**
 * Merges the contribution's `defaults` under `given` and validates the result against its JSON
 * Schema. Errors name the exact option path in the config and what is allowed.
 */
export function validateOptions(manifest: ContributionManifest, given: Record<string, unknown>, where: string, plugin: string): Record<string, unknown> {
  const options = { ...(manifest.defaults ?? {}), ...given };
  const schema = manifest.options ?? { type: 'object', additionalProperties: false };
  let validate = compiled.get(schema);
  if (!validate) {
    validate = getAjv().compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(options)) return options;
  const problems = (validate.errors ?? []).map((e) => {
    const path = `${where}${e.instancePath.replace(/\//g, '.')}`;
    if (e.keyword === 'additionalProperties') {
      const allowed = Object.keys((schema as { properties?: object }).properties ?? {});
      return `${path}.${String(e.params.additionalProperty)} is not an option of "${manifest.id}"${allowed.length ? ` (options: ${allowed.join(', ')})` : ''}`;
    }
    if (e.keyword === 'required') return `${path}.${String(e.params.missingProperty)} is required`;
    if (e.keyword === 'enum') return `${path} ${e.message}: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    return `${path} ${e.message}`;
  });
  throw new KeepsakeError('OPTION_INVALID', `Invalid options for "${manifest.id}": ${problems.join('; ')}`, {
    stage: 'config',
    plugin,
    contribution: manifest.id,
    location: where,
    hint: 'Fix the option in your config; `keepsake schema` shows every option.',
  });
}
