// A stand-in for a base Python 3.11 whose `-m venv DIR` makes an environment where pip, the import
// check and the environment report behave as asked: set-up paths run in seconds, install nothing,
// and can be made to fail the way a real pip does. Shared by the unit and the extension tests.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface FakePython {
  /** pip's behaviour: exit 1 after printing a resolver error, or exit 0 having done nothing. */
  pip: 'fail' | 'ok';
  /** A module the new environment cannot import. */
  missing?: string;
}

export const FAKE_REPORT = {
  python: '3.11.7',
  torch: '2.13.0',
  transformers: '5.18.0',
  trl: '1.13.0',
  accelerate: '1.15.0',
  peft: '0.21.0',
  cuda: null,
  gpus: [],
  cpuThreads: 2,
};

/** Writes `dir/python3` (POSIX shell) and returns its path. */
export function fakeBasePython(dir: string, fake: FakePython): string {
  const envPython = [
    '#!/bin/sh',
    'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then',
    fake.pip === 'fail'
      ? '  echo "Collecting jsonschema==4.25.1"; echo "ERROR: Could not find a version that satisfies the requirement jsonschema==4.25.1" >&2; echo "ERROR: No matching distribution found for jsonschema==4.25.1" >&2; exit 1'
      : '  echo "Requirement already satisfied: torch==2.13.0"; exit 0',
    'fi',
    'if [ "$1" = "-c" ]; then',
    fake.missing
      ? `  echo "ImportError: the environment does not import ${fake.missing} (ModuleNotFoundError: No module named '${fake.missing}')"; exit 1`
      : '  echo "imported all"; exit 0',
    'fi',
    `if [ "$1" = "-m" ] && [ "$2" = "dpo_studio.env_report" ]; then echo '${JSON.stringify(FAKE_REPORT)}'; exit 0; fi`,
    'exit 2',
  ].join('\n');
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, 'python3');
  fs.writeFileSync(
    base,
    [
      '#!/bin/sh',
      'if [ "$1" = "-c" ]; then echo 3.11.7; exit 0; fi',
      'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then',
      '  mkdir -p "$3/bin"',
      `  cat > "$3/bin/python" <<'PY'\n${envPython}\nPY`,
      '  chmod +x "$3/bin/python"; exit 0',
      'fi',
      'exit 2',
    ].join('\n') + '\n',
    { mode: 0o755 },
  );
  return base;
}
