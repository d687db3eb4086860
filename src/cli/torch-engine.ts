// The CLI's side of the torch engine: `python -m dpo_studio.engine` from the environment that
// `dpo setup-torch` made, driven through the one engine client (src/node/engine-client.ts) the
// extension uses too; and the torch engine's one-shot tools (logps) run as Python modules there.
import { spawnSync } from 'node:child_process';
import { EngineProcess, isEvent } from '../node/engine-client';
import { requireTorchPython, torchProcessEnv } from '../node/torch-env';
import { torchEngineCommand } from '../node/engine-command';

/**
 * The torch engine for the CLI: the shared engine client (version check, pending requests failed
 * with the engine's last lines, stderr in the run's log.txt). Its own lines are shown only with
 * DPO_DEBUG, as before; they are always in the run's log.txt and in error messages.
 */
export function startTorchEngine(show: (line: string) => void = () => undefined): EngineProcess {
  return new EngineProcess({ command: torchEngineCommand(), log: (line) => process.env.DPO_DEBUG && show(line) });
}

/** Runs a Python module of the torch engine to completion, its output passed through. */
export function runTorchModule(module: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
  const r = spawnSync(requireTorchPython(), ['-m', module, ...args], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...torchProcessEnv(), ...env } });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`the torch engine's ${module} failed (exit ${r.status})`);
}

/** `dpo probe --engine torch`: the same terminal output as the tfjs probe, through probe/* requests. */
export async function runTorchProbe(job: {
  modelDir: string;
  refDir?: string;
  prompt: string;
  chat: boolean;
  beta: number;
  sampling: Record<string, unknown>;
  write: (t: string) => void;
}): Promise<void> {
  const engine = startTorchEngine((line) => process.stderr.write(line + '\n'));
  try {
    await engine.ready;
    await engine.request('probe/load', { policyDir: job.modelDir, ...(job.refDir ? { referenceDir: job.refDir } : {}) });
    engine.onEvent((e) => isEvent(e, 'probe/didToken') && job.write(e.params.text));
    const answers: { name: 'policy' | 'reference'; text: string }[] = [];
    for (const which of job.refDir ? (['policy', 'reference'] as const) : (['policy'] as const)) {
      job.write(`${which}: `);
      const g = await engine.request('probe/generate', { which, prompt: job.prompt, chat: job.chat, sampling: job.sampling });
      job.write(`\n  [${g.reason}, ${g.tokens} tokens]\n`);
      answers.push({ name: which, text: g.text });
    }
    if (!job.refDir) return;
    const rewards: number[] = [];
    for (const a of answers) {
      const s = await engine.request('probe/score', { prompt: job.prompt, chat: job.chat, response: a.text, beta: job.beta });
      rewards.push(s.reward);
      job.write(
        `implicit reward of the ${a.name} answer: ${s.reward.toFixed(4)} (log πθ ${s.policyLogp.toFixed(3)}, log πref ${s.referenceLogp.toFixed(3)}, β ${job.beta})\n`,
      );
    }
    const margin = rewards[0] - rewards[1];
    job.write(`margin (policy answer − reference answer): ${margin.toFixed(4)}; σ(margin) = ${(1 / (1 + Math.exp(-margin))).toFixed(4)}\n`);
  } finally {
    engine.closeInput();
  }
}
