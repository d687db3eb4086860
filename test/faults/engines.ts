// The engines the fault suite drives: the same cases run on the embedded engine (tfjs, wasm backend)
// and on the PyTorch engine (.cache/torch-env), through the same `dpo` CLI and the same protocol.
// What differs is only how a run names its engine and how the engine process is started.
import { EngineCommand, torchEngineCommand } from '../../src/node/engine-command';
import { EngineName } from '../../src/protocol';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { torchPython } from '../../src/node/torch-env';

export interface EngineUnderTest {
  name: EngineName;
  /** Flags that put a new `dpo train` run on this engine. */
  trainFlags: string[];
  /** Flags for `dpo train --resume` (the engine comes from the run's config.json). */
  resumeFlags: string[];
  /** The same choice as a config-file field. */
  configFields: Record<string, unknown>;
  /** How to start a bare engine process for the protocol cases. */
  process: () => EngineCommand;
  /** Time limits scale by this (the torch engine imports torch, ~5-40 s per process here). */
  slow: number;
}

const MAIN = path.resolve(__dirname, '../../src/engine/main.js');

export const ENGINES: Record<EngineName, EngineUnderTest> = {
  tfjs: {
    name: 'tfjs',
    trainFlags: ['--backend', 'wasm'],
    resumeFlags: ['--backend', 'wasm'],
    configFields: { backend: 'wasm' },
    process: () => ({ engine: 'tfjs', command: process.execPath, args: [MAIN, '--backend', 'wasm'], env: process.env }),
    slow: 1,
  },
  torch: {
    name: 'torch',
    trainFlags: ['--engine', 'torch'],
    resumeFlags: [],
    configFields: { engine: 'torch' },
    process: () => torchEngineCommand(),
    slow: 3,
  },
};

/** `--engine=tfjs,torch` as engines (default: both where the torch environment is set up, else tfjs); an unknown name is an error. */
export function enginesOf(argv: string[], torchReady = fs.existsSync(torchPython())): EngineUnderTest[] {
  const arg = argv.find((a) => a.startsWith('--engine='))?.slice('--engine='.length) ?? (torchReady ? 'tfjs,torch' : 'tfjs');
  return arg.split(',').map((n) => {
    if (!Object.prototype.hasOwnProperty.call(ENGINES, n)) throw new Error(`--engine=${arg}: unknown engine ${n} (tfjs, torch)`);
    return ENGINES[n as EngineName];
  });
}
