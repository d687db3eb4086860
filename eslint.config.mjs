// Lint for the whole project: ESLint's and typescript-eslint's recommended rules, and the process
// boundaries of the design as import rules per folder (the engine never imports vscode; webviews
// import neither vscode nor Node; the protocol is a leaf). test/unit/lint.test.ts proves they bite.
// Formatting is Prettier's job (.prettierrc.json), not ESLint's.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const node = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].map((name) => ({ name, message: 'Node is not available here.' }));
const vscode = { name: 'vscode', message: 'Only src/extension runs in the extension host.' };
const tfjs = { group: ['@tensorflow/*'], message: 'Only src/engine (its own process) loads TensorFlow.js.' };
const outside = (folders, message) => ({ group: folders.flatMap((f) => [`**/${f}`, `**/${f}/**`]), message });

/** An import rule for one folder: forbidden module names and path patterns. */
const boundary = (files, paths, patterns) => ({ files, rules: { 'no-restricted-imports': ['error', { paths, patterns }] } });

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.cache/**', '.vscode-test/**', 'python/**', 'media/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: {
        console: 'readonly',
        process: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'writable',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      // `_name` marks a value left out on purpose (destructuring to drop a field).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // The engine loads its optional native backends lazily: absent packages throw at require().
      '@typescript-eslint/no-require-imports': ['error', { allow: ['^@tensorflow/tfjs-(node|node-gpu|backend-wasm|backend-webgpu)$'] }],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  boundary(['src/engine/**', 'src/cli/**'], [vscode], []),
  boundary(
    ['src/node/**'],
    [vscode],
    [tfjs, outside(['engine', 'extension', 'cli'], 'src/node is shared by every Node process: it imports only the protocol.')],
  ),
  boundary(['src/extension/**'], [], [tfjs, outside(['engine', 'cli'], 'The extension host never loads engine code in-process: it spawns the engine.')]),
  // One way to run the CLI from a command (its exit code, output and spawn failure handled once).
  {
    ...boundary(
      ['src/extension/**'],
      ['child_process', 'node:child_process'].map((name) => ({ name, message: 'Run the dpo CLI through runCli (src/extension/run-cli.ts).' })),
      [tfjs, outside(['engine', 'cli'], 'The extension host never loads engine code in-process: it spawns the engine.')],
    ),
    ignores: ['src/extension/run-cli.ts', 'src/extension/labeling/token-preview.ts'],
  },
  boundary(['src/protocol/**'], [vscode, ...node], [tfjs, { group: ['../*'], message: 'The protocol is a leaf: it imports only itself.' }]),
  boundary(
    ['webview/**'],
    [vscode, ...node],
    [tfjs, outside(['src/engine', 'src/extension', 'src/node', 'src/cli'], 'A webview shares only src/protocol with the host.')],
  ),
);
