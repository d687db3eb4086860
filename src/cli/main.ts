// The `dpo` command line: the engine's features for headless use (terminals, ssh, GPU boxes, CI).
// Each subcommand lists every flag with its default in `dpo <command> --help`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BACKEND_NAMES, BackendName, ENGINE_NAMES, runNameProblem } from '../protocol';
import { describeBackend, selectBackend } from '../engine/backend';
import { TINY_MODEL_DEFAULTS, makeTinyModel } from '../engine/model/tiny';
import { writeLogps } from '../engine/dpo/logps-file';
import { addConfigFlags, flagValues } from './config-flags';
import { runTraining } from './train';
import { runDemo } from './demo';
import { DEFAULT_CONFIG, TrainingMode } from '../protocol';
import { readRunConfigFile } from '../node/config-file';
import { DEFAULT_GENERATE } from '../engine/probe/generate';
import { pairRewards } from '../engine/probe/reward-file';
import { runProbe } from './probe';
import { runTorchModule, runTorchProbe } from './torch-engine';
import { exportLaunch } from './export-launch';
import { addExportGgufCommand } from './export-gguf';
import { addDataCommands } from './data-commands';
import { addServeCommand } from './serve';
import { addEvalCommand } from './eval';
import { addExportMetricsCommand } from './export-metrics';
import { describeTorch, setupTorch } from '../node/torch-setup';
import { PACKAGE_ROOT } from '../node/package-root';

function runName(value: string): string {
  const problem = runNameProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a non-negative number');
  return n;
}

function backendOption(): Option {
  return new Option('--backend <name>', 'force a TensorFlow.js backend (default: the fastest that loads)').choices(BACKEND_NAMES);
}

function engineOption(): Option {
  return new Option('--engine <name>', 'tfjs (embedded) or torch (PyTorch; needs `dpo setup-torch`)').choices(ENGINE_NAMES).default('tfjs');
}

const log = (line: string) => process.stderr.write(line + '\n');

export function buildProgram(): Command {
  const program = new Command('dpo')
    .description('DPO Studio engine: preference-tune causal language models with Direct Preference Optimization')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('make-tiny-model')
    .description('write a small randomly initialised model (Hugging Face layout) with a byte-level tokenizer')
    .requiredOption('--out <dir>', 'output folder')
    .addOption(new Option('--family <family>', 'architecture family').choices(['gpt2', 'llama']).default(TINY_MODEL_DEFAULTS.family))
    .option('--layers <n>', 'transformer blocks', positiveInt, TINY_MODEL_DEFAULTS.layers)
    .option('--d-model <n>', 'hidden size', positiveInt, TINY_MODEL_DEFAULTS.dModel)
    .option('--heads <n>', 'attention heads', positiveInt, TINY_MODEL_DEFAULTS.heads)
    .option('--kv-heads <n>', 'key/value heads, llama only (grouped-query attention; default: --heads)', positiveInt)
    .option('--vocab <n>', 'embedding rows (default: the tokenizer size, 259)', positiveInt)
    .option('--max-positions <n>', 'context length', positiveInt, TINY_MODEL_DEFAULTS.maxPositions)
    .option('--untied-head', 'llama only: a separate lm_head instead of the tied embedding', false)
    .option('--qkv-bias', 'llama only: q/k/v biases (written as Qwen2ForCausalLM)', false)
    .option('--seed <n>', 'initialisation seed (same seed, same bytes)', nonNegativeInt, TINY_MODEL_DEFAULTS.seed)
    .action((o) => {
      const out = path.resolve(o.out);
      const r = makeTinyModel(out, {
        family: o.family,
        layers: o.layers,
        dModel: o.dModel,
        heads: o.heads,
        kvHeads: o.kvHeads,
        vocab: o.vocab,
        maxPositions: o.maxPositions,
        seed: o.seed,
        untiedHead: o.untiedHead,
        qkvBias: o.qkvBias,
      });
      log(`wrote ${o.family} model with ${r.parameters.toLocaleString('en-US')} parameters (vocab ${r.vocabSize}) to ${out}`);
    });

  program
    .command('logps')
    .description('summed response log-probs of each pair under a model (prompt and padding excluded, EOS included)')
    .requiredOption('--model <dir>', 'model folder (config.json, model.safetensors, tokenizer.json)')
    .requiredOption('--data <file>', 'preference JSONL')
    .requiredOption('--out <file>', 'output JSONL, one line per pair')
    .option('--max-length <n>', 'longest prompt+response in tokens (default: the model context)', positiveInt)
    .option('--max-prompt-length <n>', 'longest prompt in tokens; longer prompts keep their end', positiveInt)
    .option('--batch-size <n>', 'pairs per forward pass', positiveInt, 8)
    .option('--skip-bad-lines', 'skip unusable lines (and report how many) instead of stopping', false)
    .addOption(backendOption())
    .addOption(engineOption())
    .action(async (o) => {
      if (o.engine === 'torch') {
        const args = ['--model', path.resolve(o.model), '--data', path.resolve(o.data), '--out', path.resolve(o.out)];
        if (o.maxLength) args.push('--max-length', String(o.maxLength));
        if (o.maxPromptLength) args.push('--max-prompt-length', String(o.maxPromptLength));
        if (o.skipBadLines) args.push('--skip-bad-lines');
        return runTorchModule('dpo_studio.logps', args);
      }
      const report = await selectBackend(o.backend as BackendName | undefined);
      log(describeBackend(report));
      const summary = await writeLogps({
        modelDir: path.resolve(o.model),
        dataFile: path.resolve(o.data),
        outFile: path.resolve(o.out),
        maxLength: o.maxLength,
        maxPromptLength: o.maxPromptLength,
        batchSize: o.batchSize,
        skipBadLines: o.skipBadLines,
        onProgress: (done, total) => process.stderr.write(`\rlogps ${done}/${total} pairs`),
      });
      process.stderr.write('\n');
      for (const line of summary.notes) log(line);
      log(`wrote ${summary.written} line(s) to ${path.resolve(o.out)}`);
    });

  for (const mode of ['train', 'sft', 'kto'] as const) {
    const trainingMode: TrainingMode = mode === 'train' ? 'dpo' : mode;
    const cmd = program
      .command(mode)
      .description(
        mode === 'train'
          ? 'DPO training run: policy vs a frozen reference on preference pairs (Ctrl-C stops after the step, with a checkpoint)'
          : mode === 'sft'
            ? 'supervised fine-tuning on the chosen responses (prompt masked), to make a reference model'
            : 'KTO training run on unpaired lines {"prompt","completion","label": true|false} (a paired file: each pair is a desirable and an undesirable line)',
      )
      .option('--config <file>', 'JSON run config (flags override it; relative paths resolve against its folder)')
      .option('--out <dir>', 'run folder (default: .dpo/runs/<mode>-<time> in the current folder)')
      .option('--run-name <name>', 'name the run: its folder is .dpo/runs/<name> (the name the metrics panel and Show Runs use)', runName)
      .option('--resume <run-dir>', 'continue a stopped or crashed run from its newest complete checkpoint');
    addConfigFlags(cmd).action(async (o) => {
      const values = { ...(o.config ? readRunConfigFile(o.config) : {}), ...flagValues(o) };
      if (o.runName && o.out) throw new Error('give --run-name or --out, not both (the name is the run folder under .dpo/runs)');
      if (o.runName) values.output_dir = path.resolve('.dpo', 'runs', o.runName);
      if (o.out) values.output_dir = path.resolve(o.out);
      const r = await runTraining({ mode: trainingMode, values, resume: o.resume, source: o.config ?? 'flags' });
      log(
        r.reason === 'stopped'
          ? `stopped at step ${r.step}/${r.totalSteps}; resume: dpo ${mode} --resume ${r.runDir}`
          : `done: ${r.step} steps; final model in ${r.finalDir}`,
      );
    });
  }

  program
    .command('probe')
    .description('generate from a tuned model (and its reference), streamed, with the implicit reward of each answer')
    .requiredOption('--model <dir>', "the tuned model folder (e.g. a run's final/)")
    .option('--ref <dir>', 'the reference model folder: also generate from it, and score both answers')
    .requiredOption('--prompt <text>', 'the prompt')
    .option('--chat', "wrap the prompt as a user message with the tokenizer's chat template", false)
    .option('--max-new-tokens <n>', 'tokens to generate at most', positiveInt, DEFAULT_GENERATE.maxNewTokens)
    .option('--temperature <t>', 'sampling temperature; 0 is greedy', nonNegativeNumber, DEFAULT_GENERATE.temperature)
    .option('--top-k <k>', 'keep the k most likely tokens; 0 keeps all', nonNegativeInt, DEFAULT_GENERATE.topK)
    .option('--top-p <p>', 'nucleus sampling: keep the most likely tokens up to probability p', nonNegativeNumber, DEFAULT_GENERATE.topP)
    .option('--seed <n>', 'sampling seed (same seed, same sample)', nonNegativeInt, DEFAULT_GENERATE.seed)
    .option('--stop <text...>', 'stop strings (generation ends before them)')
    .option('--beta <b>', 'β of the implicit reward β·log(πθ/πref)', nonNegativeNumber, DEFAULT_CONFIG.beta)
    .option('--no-cache', 'recompute the whole sequence for every token (slower; for comparison)')
    .addOption(backendOption())
    .addOption(engineOption())
    .action(async (o) => {
      // One set of probe inputs for both engines; the embedded one also takes the KV-cache switch.
      const sampling = { maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed, stop: o.stop ?? [] };
      const common = { modelDir: path.resolve(o.model), refDir: o.ref ? path.resolve(o.ref) : undefined, prompt: o.prompt, chat: o.chat, beta: o.beta };
      if (o.engine === 'torch') return runTorchProbe({ ...common, sampling, write: (t) => process.stdout.write(t) });
      log(describeBackend(await selectBackend(o.backend as BackendName | undefined)));
      await runProbe({
        ...common,
        generate: { ...sampling, useCache: o.cache },
        write: (text) => process.stdout.write(text),
      });
    });

  program
    .command('reward')
    .description('implicit rewards of every pair under a tuned model and its reference: margins and σ(margin)')
    .requiredOption('--model <dir>', 'the tuned model folder')
    .requiredOption('--ref <dir>', 'the reference model folder')
    .requiredOption('--data <file>', 'preference JSONL')
    .option('--out <file>', 'write one JSONL line per pair {line, chosen_reward, rejected_reward, margin, preference_probability}')
    .option('--beta <b>', 'β of the implicit reward', nonNegativeNumber, DEFAULT_CONFIG.beta)
    .option('--max-length <n>', 'longest prompt+response in tokens (default: the model context)', positiveInt)
    .option('--batch-size <n>', 'pairs per forward pass', positiveInt, 8)
    .option('--skip-bad-lines', 'skip unusable lines (and report how many) instead of stopping', false)
    .addOption(backendOption())
    .addOption(engineOption())
    .action(async (o) => {
      if (o.engine === 'torch') {
        const args = ['--model', path.resolve(o.model), '--ref', path.resolve(o.ref), '--data', path.resolve(o.data), '--beta', String(o.beta)];
        if (o.out) args.push('--out', path.resolve(o.out));
        if (o.maxLength) args.push('--max-length', String(o.maxLength));
        if (o.skipBadLines) args.push('--skip-bad-lines');
        return runTorchModule('dpo_studio.reward', args);
      }
      log(describeBackend(await selectBackend(o.backend as BackendName | undefined)));
      const r = await pairRewards({
        modelDir: path.resolve(o.model),
        refDir: path.resolve(o.ref),
        dataFile: path.resolve(o.data),
        outFile: o.out ? path.resolve(o.out) : undefined,
        beta: o.beta,
        maxLength: o.maxLength,
        batchSize: o.batchSize,
        skipBadLines: o.skipBadLines,
      });
      for (const n of r.notes) log(n);
      if (!o.out) for (const row of r.rows) process.stdout.write(JSON.stringify(row) + '\n');
      log(
        `${r.rows.length} pair(s): reward accuracy ${r.accuracy.toFixed(3)}, mean margin ${r.meanMargin.toFixed(4)}${o.out ? `; wrote ${path.resolve(o.out)}` : ''}`,
      );
    });

  addDataCommands(program);
  addServeCommand(program, log);
  addEvalCommand(program, log);
  addExportGgufCommand(program);

  program
    .command('setup-torch')
    .description(
      "create or update the PyTorch engine's Python environment ($DPO_TORCH_ENV, else a checkout's .cache/torch-env, else the one the last set-up recorded, else a per-user data folder) with the pins of python/requirements.txt; rebuilt only when they change",
    )
    .option('--python <path>', 'Python interpreter (3.10+) to create the environment with (default: python3)')
    .action(async (o) => {
      for (const line of describeTorch(await setupTorch({ python: o.python, log, fresh: true }))) process.stdout.write(line + '\n');
    });

  program
    .command('export-launch')
    .description('write a standalone, Slurm-ready launch of a torch-engine run: launch.sh, accelerate.yaml and run.json')
    .argument('<config>', 'JSON run config (output_dir required: rank 0 writes the run folder there)')
    .option('--out <dir>', 'folder for the files (default: launch/ beside the config)')
    .option('--nodes <n>', 'machines', positiveInt, 1)
    .option('--gpus-per-node <n>', 'processes (GPUs) per machine', positiveInt, 8)
    .option('--port <n>', 'main process port', positiveInt, 29500)
    .action((configFile: string, o) => {
      const out = path.resolve(o.out ?? path.join(path.dirname(path.resolve(configFile)), 'launch'));
      const r = exportLaunch({ configFile, values: readRunConfigFile(configFile), outDir: out, nodes: o.nodes, gpusPerNode: o.gpusPerNode, port: o.port });
      for (const f of r.files) log(`wrote ${f}`);
      log(`run folder: ${r.config.output_dir}; submit with: sbatch ${r.files[0]}`);
    });

  addExportMetricsCommand(program, log);

  program
    .command('demo')
    .description('make a tiny model, SFT it on examples/preferences.jsonl, run DPO, and show the held-out margins rise')
    .option('--out <dir>', 'folder for the demo runs (default: .dpo/demo-<time>)')
    .action(async (o) => {
      if (!(await runDemo(o.out, (line) => process.stdout.write(line + '\n')))) process.exitCode = 3;
    });

  // commander does not mark required options in the help: say it in each one's description.
  for (const cmd of program.commands) for (const opt of cmd.options) if (opt.mandatory) opt.description = `(required) ${opt.description}`;
  return program;
}

/** The package's version, from its package.json (above out/src/cli, or dist/ in the VSIX). */
function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Runs the CLI; resolves to the exit code. Errors print one clear message, not a stack. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length <= 2) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (code?.startsWith('commander.')) return 2; // commander already printed the usage error
    log(`dpo: ${(err as Error).message}`);
    if (process.env.DPO_DEBUG) log((err as Error).stack ?? '');
    return 1;
  }
}
