// The torch engine's tests (pytest under python/tests) in the environment `dpo setup-torch` makes:
// set up first when missing or when python/requirements.txt changed (offline wheels here, PyPI for
// users), then run pytest with its temp folders outside the work tree, removed afterwards.
// Needs the compiled CLI (out/): `npm run test:python` builds first.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const { setupTorch, describeTorch } = require(path.join(root, 'out/src/node/torch-setup.js'));
const { torchProcessEnv } = require(path.join(root, 'out/src/node/torch-env.js'));

async function main() {
  const setup = await setupTorch({ log: (l) => console.log(l) });
  for (const line of describeTorch(setup)) console.log(line);
  // Two pytest processes: the engine's tests and the reference tests each have a conftest.py whose
  // helpers the tests import by name, and one process would load only one module called conftest.
  const suites = [['python/tests', '--ignore=python/tests/reference'], ['python/tests/reference']];
  let status = 0;
  for (const suite of suites) {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dpo-pytest-'));
    try {
      const r = spawnSync(setup.python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', `--basetemp=${base}`, ...suite, ...process.argv.slice(2)], {
        cwd: root,
        stdio: 'inherit',
        env: { ...torchProcessEnv(), DPO_TORCH_ENV: setup.envDir },
      });
      if ((r.status ?? 1) !== 0) status = r.status ?? 1;
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  }
  return status;
}

main().then(
  (status) => process.exit(status),
  (err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
