// Every run-config field as a CLI flag (`beta` -> `--beta`, `max_length` -> `--max-length`), made from
// the one config schema so that help texts, defaults and types cannot drift from the config file's.
import { Command, InvalidArgumentError, Option } from 'commander';
import { CONFIG_FIELDS, DpoConfig } from '../protocol';
import { resolveConfigPaths } from '../node/config-file';

/** Fields set by dedicated flags or by the subcommand itself. */
const NOT_FLAGS = new Set<keyof DpoConfig>(['mode', 'output_dir']);

/** commander turns a parser's null into '' (an empty value); a marker carries "null" through it. */
const NULL_FLAG = Symbol('null');

const flagName = (field: string) => `--${field.replace(/_/g, '-')}`;
const camel = (field: string) => field.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());

function parser(field: keyof DpoConfig): (raw: string) => unknown {
  const schema = CONFIG_FIELDS[field] as { type?: string | string[]; enum?: unknown[]; anyOf?: { type?: string }[]; items?: { type?: string } };
  const types = schema.enum ? ['enum'] : Array.isArray(schema.type) ? schema.type : [schema.type];
  return (raw: string) => {
    if (types.includes('null') && raw === 'null') return NULL_FLAG;
    // A name or a list (loss_type): `--loss-type sigmoid,sft` is the list.
    if (schema.anyOf?.some((f) => f.type === 'array')) return raw.includes(',') ? raw.split(',').map((x) => x.trim()) : raw;
    if (types.includes('array') && schema.items?.type === 'number') {
      // `--loss-weights 1,0.5`
      const xs = raw.split(',').map((x) => Number(x));
      if (raw.trim() === '' || xs.some((x) => !Number.isFinite(x))) throw new InvalidArgumentError('must be numbers separated by commas, e.g. 1,0.5');
      return xs;
    }
    if (types.includes('integer') || types.includes('number')) {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
      return n;
    }
    if (types.includes('boolean')) {
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw new InvalidArgumentError('must be true or false');
    }
    return raw; // strings and enums: the schema check names bad values with the allowed ones
  };
}

/** Adds one option per config field; defaults are shown, not applied (the config file may set them). */
export function addConfigFlags(cmd: Command): Command {
  for (const [field, schema] of Object.entries(CONFIG_FIELDS) as [keyof DpoConfig, (typeof CONFIG_FIELDS)[keyof DpoConfig]][]) {
    if (NOT_FLAGS.has(field)) continue;
    const isBool = (schema as { type?: unknown }).type === 'boolean';
    // The default is shown, not applied here: a config file given with --config may set the field.
    const shown = schema.default === '' ? 'required' : `default: ${JSON.stringify(schema.default)}`;
    // A flag's path is resolved against the current folder (flagValues), not a config file's.
    const description = schema.description.replace('resolved against the config file', 'resolved against the current folder (in a config file: its folder)');
    const opt = new Option(`${flagName(field)} ${isBool ? '[bool]' : '<value>'}`, `${description} (${shown})`);
    const values = (schema as { enum?: unknown[] }).enum;
    if (values) {
      // Enum fields list their values in the help and refuse others at once (commander's choices);
      // a nullable one also takes "null", carried through as for the other fields.
      opt.choices(values.map((v) => (v === null ? 'null' : String(v))));
      const check = opt.parseArg!;
      opt.argParser((raw: string) => (check(raw, undefined) === 'null' ? NULL_FLAG : raw));
    } else opt.argParser(isBool ? (raw: string | undefined) => (raw === undefined ? true : parser(field)(raw)) : parser(field));
    cmd.addOption(opt);
  }
  return cmd;
}

/** The config fields given as flags (only those the user typed). */
export function flagValues(opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of Object.keys(CONFIG_FIELDS)) {
    const v = opts[camel(field)];
    if (v !== undefined && !NOT_FLAGS.has(field as keyof DpoConfig)) out[field] = v === NULL_FLAG ? null : v;
  }
  return resolveConfigPaths(out, process.cwd());
}
