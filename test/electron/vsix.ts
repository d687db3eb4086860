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
  return vsix;
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
