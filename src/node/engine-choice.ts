// Which engine a run uses, decided the same way wherever a run starts: a config that names its
// engine keeps it; otherwise the dpo.engine setting, where `auto` means the PyTorch engine when its
// environment is set up and saw a GPU at set-up, else the embedded engine (which needs nothing).
import { EngineName, EngineEvents } from '../protocol';
import { torchEnvDir } from './torch-env';
import { torchEnvState } from './torch-setup';

export const ENGINE_SETTINGS = ['auto', 'tfjs', 'torch'] as const;
export type EngineSetting = (typeof ENGINE_SETTINGS)[number];

/**
 * The torch engine can start: its environment's last set-up finished (installed and imported every
 * pin). An interpreter alone is not enough: a set-up whose pip install failed leaves one behind.
 */
export function torchInstalled(envDir = torchEnvDir()): boolean {
  return torchEnvState(envDir).ready;
}

export function autoEngine(envDir = torchEnvDir()): EngineName {
  const state = torchEnvState(envDir);
  return state.ready && (state.report?.gpus.length ?? 0) > 0 ? 'torch' : 'tfjs';
}

export function chooseEngine(config: Record<string, unknown>, setting: EngineSetting, envDir = torchEnvDir()): EngineName {
  if (config.engine === 'tfjs' || config.engine === 'torch') return config.engine;
  return setting === 'auto' ? autoEngine(envDir) : setting;
}

/**
 * "torch · cuda:0 NVIDIA H100 80GB" or "tfjs · wasm": the engine and what it computes on, from its
 * handshake (older engines send only a tfjs backend report).
 */
export function engineLabel(hello: EngineEvents['engine/didStart']): string {
  const engine = hello.engine ?? 'tfjs';
  let device = hello.device ?? hello.backend?.name ?? 'unknown device';
  const m = /^cuda:(\d+)$/.exec(device);
  const gpu = m ? hello.devices?.find((d) => d.index === Number(m[1])) : undefined;
  if (gpu) device = `${device} ${gpu.name}`;
  return `${engine} · ${device}`;
}
