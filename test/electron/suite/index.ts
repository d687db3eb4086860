// The Mocha entry the extension host loads (extensionTestsPath). Writes its counts to
// DPO_TEST_RESULTS so the outer runner can report them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 180_000 });
  const all = process.env.DPO_TEST_UNTRUSTED
    ? ['untrusted.test.js']
    : ['extension.test.js', 'run-manager.test.js', 'torch.test.js', 'torch-editor.test.js', 'export-launch.test.js', 'export-gguf.test.js', 'evaluate.test.js'];
  // DPO_TEST_ONLY=torch runs only the suites whose file names hold that text (while developing one).
  const files = all.filter((f) => !process.env.DPO_TEST_ONLY || process.env.DPO_TEST_UNTRUSTED || f.includes(process.env.DPO_TEST_ONLY));
  for (const f of files) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      if (process.env.DPO_TEST_RESULTS) {
        fs.writeFileSync(process.env.DPO_TEST_RESULTS, JSON.stringify({ passes: runner.stats?.passes ?? 0, failures }));
      }
      if (failures > 0) reject(new Error(`${failures} extension test(s) failed`));
      else resolve();
    });
  });
}
