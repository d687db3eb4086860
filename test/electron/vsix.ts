// Packs the extension into a VSIX (what `npm run package` makes, from the current build) and
// installs it into a VS Code server's extensions folder, so the extension tests run against the
// installed files rather than the checkout.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');

/** Runs `vsce package` on the built tree (dist/ and out/webview must be current: npm run build). */
export function packageVsix(outDir: string): string {
  for (const f of ['dist/extension.js', 'dist/engine.js', 'out/webview/metrics.js'])
    if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
  const vsix = path.join(outDir, 'dpo-studio.vsix');
  const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  const args = [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', vsix];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vsce package failed:\n${r.stdout}${r.stderr}`);
  checkVsixContents(vsix);
  return vsix;
}

/**
 * What the installed extension loads must be in the VSIX: .vscodeignore lets files in by pattern, and a
 * new webview, engine file or Python module it does not name would be missing only after install.
 * Checked against the checkout: every webview (webview/<name>/main.ts) as out/webview/<name>.js and
 * .css, every dist/ bundle and wasm, every Python module of the PyTorch engine, every docs page.
 */
export function checkVsixContents(vsix: string): void {
  const list = spawnSync('python3', ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', vsix], { encoding: 'utf8' });
  if (list.status !== 0) throw new Error(`cannot list ${vsix}: ${list.stderr}`);
  const inside = new Set(list.stdout.split('\n').map((l) => l.replace(/^extension\//, '')));
  const files = (dir: string, keep: (name: string) => boolean) =>
    fs.existsSync(path.join(ROOT, dir))
      ? fs
          .readdirSync(path.join(ROOT, dir))
          .filter(keep)
          .map((n) => `${dir}/${n}`)
      : [];
  const webviews = fs.readdirSync(path.join(ROOT, 'webview')).filter((n) => fs.existsSync(path.join(ROOT, 'webview', n, 'main.ts')));
  const needed = [
    ...webviews.flatMap((n) => [`out/webview/${n}.js`, `out/webview/${n}.css`]),
    ...files('dist', (n) => n.endsWith('.js') || n.endsWith('.wasm')),
    ...files('python/dpo_studio', (n) => n.endsWith('.py')),
    ...files('docs', (n) => n.endsWith('.md')),
  ];
  const missing = needed.filter((f) => !inside.has(f));
  if (missing.length) throw new Error(`the VSIX lacks ${missing.join(', ')}: let them in in .vscodeignore`);
  const stray = [...inside].filter((f) => f.endsWith('.map') || f.startsWith('test/') || f.startsWith('node_modules/') || f.includes('metrics-bench'));
  if (stray.length) throw new Error(`the VSIX holds files it should not: ${stray.slice(0, 10).join(', ')}`);
}

/**
 * `code-server --install-extension` into `extensionsDir`; returns the installed extension's folder.
 * XDG folders point into `scratch` so that nothing is written to ~/.config/code-server.
 */
export function installVsix(codeServer: string, vsix: string, extensionsDir: string, scratch: string): string {
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(scratch, 'xdg-config'), XDG_DATA_HOME: path.join(scratch, 'xdg-data') };
  const args = ['--install-extension', vsix, '--extensions-dir', extensionsDir, '--user-data-dir', path.join(scratch, 'install-user-data')];
  const r = spawnSync(codeServer, args, { env, encoding: 'utf8' });
  const installed = fs.readdirSync(extensionsDir).find((n) => n.startsWith('dpo-studio.dpo-studio-'));
  if (r.status !== 0 || !installed) throw new Error(`code-server --install-extension failed:\n${r.stdout}${r.stderr}`);
  return path.join(extensionsDir, installed);
}
