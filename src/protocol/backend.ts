// Backend names shared by the engine, the host (settings, status bar) and the webviews.
// A leaf module: no imports from vscode, tfjs or the DOM.

/** The TensorFlow.js backends the engine can run on, fastest first. */
export const BACKEND_NAMES = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export function isBackendName(value: unknown): value is BackendName {
  return typeof value === 'string' && (BACKEND_NAMES as readonly string[]).includes(value);
}

/** What backend selection decided, and why each faster backend was passed over. */
export interface BackendReport {
  name: BackendName;
  /** Faster backends that were tried and did not load, with the reason each failed. */
  skipped: { name: BackendName; reason: string }[];
  /** True when the backend was forced (`--backend`) rather than picked. */
  forced: boolean;
  /** wasm only: whether SIMD and threads are in use. */
  simd?: boolean;
  threads?: boolean;
}
