// Sets up (or checks) the PyTorch engine's environment before any test that needs it: unit tests of
// the set-up and of `--engine torch` paths run against it, so `npm test` makes it first (offline
// wheels here, PyPI for users; a no-op when python/requirements.txt has not changed).
// The checkout's own .cache/torch-env (or $DPO_TORCH_ENV), never a per-user home: the tests and the
// other scripts find it there first. Needs the compiled CLI (out/).
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const { setupTorch, describeTorch } = require(path.join(root, 'out/src/node/torch-setup.js'));

const envDir = process.env.DPO_TORCH_ENV ? path.resolve(process.env.DPO_TORCH_ENV) : path.join(root, '.cache', 'torch-env');

setupTorch({ envDir, log: (l) => console.log(l) }).then(
  (setup) => {
    for (const line of describeTorch(setup)) console.log(line);
  },
  (err) => {
    console.error(`setup-torch: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
