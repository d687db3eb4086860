// An engine process for `dpo eval`: its command, the handshake and loading with a policy and its reference
// (and a reward model), then closed: input ended so it exits on its own, killed after a grace.
import { EngineProcess } from '../engine-client';

/**
 * Waits for `engine`'s handshake, then loads the policy and its reference (and a reward model). The
 * caller made the process and owns closing it, whatever happens here (an abort may leave this waiting).
 */
export async function loadEvalEngine(
  engine: EngineProcess,
  policyDir: string,
  referenceDir: string,
  log: (line: string) => void,
  rewardModel?: string,
): Promise<void> {
  await engine.ready;
  const loaded = await engine.request('probe/load', { policyDir, referenceDir });
  log(`loaded ${policyDir} (${loaded.architecture}, ${loaded.parameters.toLocaleString('en-US')} parameters) and reference ${referenceDir}`);
  if (rewardModel) {
    const rm = await engine.request('reward-model/load', { dir: rewardModel });
    log(`loaded reward model ${rewardModel} (${rm.architecture}, ${rm.parameters.toLocaleString('en-US')} parameters)`);
  }
}

export async function closeEngine(engine: EngineProcess, graceMs = 3000): Promise<void> {
  if (engine.exited) return;
  const exited = new Promise<void>((resolve) => engine.onExit(() => resolve()));
  engine.closeInput();
  const timer = setTimeout(() => engine.kill(), graceMs);
  await exited;
  clearTimeout(timer);
  engine.dispose();
}
