// Reading a run config file (`*.dpo.json`), the same for the CLI and the extension: JSON, the
// editor's `$schema` key dropped, relative paths resolved against the file's folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ACCELERATE_PRESETS, DpoConfig } from '../protocol';

/** Config fields that hold paths, resolved against where they were written. */
export const CONFIG_PATH_FIELDS: (keyof DpoConfig)[] = ['model', 'reference_model', 'data', 'eval_data', 'output_dir', 'checkpoint_eval_reward_model'];

export function resolveConfigPaths(values: Record<string, unknown>, base: string): Record<string, unknown> {
  const out = { ...values };
  for (const f of CONFIG_PATH_FIELDS) if (typeof out[f] === 'string' && out[f] !== '') out[f] = path.resolve(base, out[f] as string);
  // accelerate_config is a preset name or a YAML file; the file is relative to the config like the others.
  const acc = out.accelerate_config;
  if (typeof acc === 'string' && acc !== '' && !(ACCELERATE_PRESETS as readonly string[]).includes(acc)) out.accelerate_config = path.resolve(base, acc);
  return out;
}

export function readRunConfigFile(file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : `invalid JSON (${(err as Error).message})`}`, { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: a run config must be a JSON object`);
  const out = { ...(raw as Record<string, unknown>) };
  delete out.$schema;
  return resolveConfigPaths(out, path.dirname(path.resolve(file)));
}
