// Lint, format check and type check of the PyTorch engine (python/), as eslint, prettier and tsc are
// for the TypeScript: ruff and mypy at the versions pinned in python/requirements-dev.txt, installed
// into the torch environment beside the engine's own packages (once; a stamp records the pins).
// Needs the compiled CLI (out/) and the environment (scripts/setup-torch-env.js runs first).
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const { torchEnvDir, torchPython } = require(path.join(root, 'out/src/node/torch-env.js'));

const envDir = process.env.DPO_TORCH_ENV ? path.resolve(process.env.DPO_TORCH_ENV) : torchEnvDir();
const python = torchPython(envDir);
const devRequirements = path.join(root, 'python', 'requirements-dev.txt');
const stamp = path.join(envDir, '.dpo-dev-requirements.sha256');
const hash = crypto.createHash('sha256').update(fs.readFileSync(devRequirements)).digest('hex');

function run(args, what) {
  const r = spawnSync(python, args, { cwd: path.join(root, 'python'), stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`lint-python: ${what} failed (${r.signal ?? `exit ${r.status}`})`);
    process.exit(r.status || 1);
  }
}

if (!fs.existsSync(python)) {
  console.error(`lint-python: ${python} is missing; run \`node scripts/setup-torch-env.js\` (npm test does) first`);
  process.exit(1);
}
if (!fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8').trim() !== hash) {
  // Offline wheels here, PyPI for everyone else; never wait minutes on an unreachable index.
  run(
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--retries', '0', '--timeout', '5', '-q', '-r', devRequirements],
    'installing requirements-dev.txt',
  );
  fs.writeFileSync(stamp, hash + '\n');
}
run(['-m', 'ruff', 'check', '.'], 'ruff check (fix with: ruff check --fix python/)');
run(['-m', 'ruff', 'format', '--check', '.'], 'ruff format --check (fix with: ruff format python/)');
run(['-m', 'mypy'], 'mypy');
console.log('lint-python: ruff check, ruff format and mypy passed');
