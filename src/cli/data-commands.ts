// The data-loop subcommands: `dpo triage` (pairs a tuned model disagrees with, most suspicious
// first), `dpo tokens` (what one pair becomes after the chat template, masks and truncation) and
// `dpo convert` (between the preference formats). Registered on the program by main.ts.
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BACKEND_NAMES, BackendName, ENGINE_NAMES, PREFERENCE_FORMATS, badLineCount, formatProblem } from '../protocol';
import { describeBackend, selectBackend } from '../engine/backend';
import { runTriage } from './triage';
import { formatTokenPreview, tokenPreview } from './tokens';
import { UNPAIRED_TARGETS, convertPreferences } from './convert';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number, 0 or more');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

const log = (line: string) => process.stderr.write(line + '\n');

export function addDataCommands(program: Command): void {
  program
    .command('triage')
    .description('rank preference pairs by how strongly a DPO-tuned model disagrees with their label (likely mislabeled first)')
    .requiredOption('--model <dir>', "the tuned model (a run's final/ or checkpoints/step-N)")
    .option('--reference <dir>', "the reference model (default: the run's reference_model, else its starting model)")
    .requiredOption('--data <file>', 'preference JSONL the model was trained on')
    .requiredOption('--out <file>', 'output JSONL, one line per pair, most suspicious first: {line, margin, score, agreement, checkpoints?}')
    .option('--beta <b>', "β of the implicit reward (default: the run's β, else 0.1)", positiveNumber)
    .option('--checkpoints <dir...>', 'more model folders (e.g. earlier checkpoints): the score averages over all')
    .option('--max-length <n>', 'longest prompt+response in tokens (default: the model context)', positiveInt)
    .option('--batch-size <n>', 'pairs per forward pass', positiveInt, 8)
    .option('--threads <n>', "threads for the log-probs: wasm's matrix products (tfjs) or torch's; 0 = every core", nonNegativeInt, 0)
    .addOption(new Option('--backend <name>', 'force a TensorFlow.js backend (default: the fastest that loads)').choices(BACKEND_NAMES))
    .addOption(new Option('--engine <name>', 'tfjs (embedded) or torch (PyTorch; needs `dpo setup-torch`)').choices(ENGINE_NAMES).default('tfjs'))
    .action(async (o) => {
      if (o.engine === 'tfjs') log(describeBackend(await selectBackend(o.backend as BackendName | undefined, o.threads)));
      const r = await runTriage({
        modelDir: path.resolve(o.model),
        referenceDir: o.reference ? path.resolve(o.reference) : undefined,
        dataFile: path.resolve(o.data),
        outFile: path.resolve(o.out),
        beta: o.beta,
        checkpointDirs: (o.checkpoints ?? []).map((d: string) => path.resolve(d)),
        engine: o.engine,
        maxLength: o.maxLength,
        batchSize: o.batchSize,
        threads: o.threads,
        log,
      });
      const against = r.rows.filter((row) => row.margin < 0).length;
      log(`${r.rows.length} pair(s) ranked; ${against} with a negative margin (the model prefers the rejected response); wrote ${path.resolve(o.out)}`);
    });

  program
    .command('tokens')
    .description('show the tokens one pair becomes after the chat template: prompt (masked) vs response (trained), EOS, truncation cuts, warnings')
    .requiredOption('--model <dir>', 'model folder (its tokenizer and context length)')
    .requiredOption('--data <file>', 'preference JSONL')
    .requiredOption('--line <n>', "the pair's line (1-based)", positiveInt)
    .option('--max-length <n>', 'longest prompt+response in tokens (default: the model context)', positiveInt)
    .option('--max-prompt-length <n>', 'longest prompt in tokens; longer prompts keep their end', positiveInt)
    .option('--json', 'print the preview as JSON (what the labeling editor reads)', false)
    .action((o) => {
      const p = tokenPreview({
        modelDir: path.resolve(o.model),
        dataFile: path.resolve(o.data),
        line: o.line,
        maxLength: o.maxLength,
        maxPromptLength: o.maxPromptLength,
      });
      process.stdout.write((o.json ? JSON.stringify(p) : formatTokenPreview(p)) + '\n');
    });

  program
    .command('convert')
    .description(
      'convert preference data between formats (reads TRL, chat-completions and HH JSONL; Parquet/Arrow/datasets folders through the torch environment)',
    )
    .argument('<in>', 'input: JSONL, .parquet, .arrow, or a Hugging Face datasets folder')
    .argument('<out>', 'output JSONL')
    .addOption(
      new Option('--to <format>', 'output format; unpaired: TRL\'s {"prompt","completion","label"} lines (KTO); paired: those lines paired up per prompt')
        .choices([...PREFERENCE_FORMATS, ...UNPAIRED_TARGETS])
        .makeOptionMandatory(),
    )
    .option('--split <name>', 'split of a datasets folder', 'train')
    .option('--skip-bad-lines', 'convert the usable lines and list the unusable ones instead of stopping', false)
    .action((input: string, output: string, o) => {
      const r = convertPreferences({ input: path.resolve(input), output: path.resolve(output), to: o.to, split: o.split, skipBadLines: o.skipBadLines });
      log(`wrote ${r.written} ${o.to === 'unpaired' ? 'line' : 'pair'}(s) as ${o.to} to ${path.resolve(output)}`);
      const bad = r.skipped ?? [];
      if (bad.length) log(`skipped ${badLineCount(bad)} unusable line(s):\n${bad.map((p) => '  ' + formatProblem(p)).join('\n')}`);
      const u = r.unmatched ?? [];
      if (u.length)
        log(
          `left out ${u.length} line(s) with no partner of the other label for the same prompt: lines ${u.slice(0, 20).join(', ')}${u.length > 20 ? ', …' : ''}`,
        );
    });
}
