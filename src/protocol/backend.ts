// Backend names shared by the engine, the host (settings, status bar) and the webviews.
// A leaf module: no imports from vscode, tfjs or the DOM.

/**
 * The TensorFlow.js backends the engine can run on, in the order `auto` tries them. webgpu (Dawn:
 * Metal, Direct3D 12, Vulkan) comes before the CPU backends, and `auto` takes it only on a hardware
 * adapter.
 */
export const BACKEND_NAMES = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export function isBackendName(value: unknown): value is BackendName {
  return typeof value === 'string' && (BACKEND_NAMES as readonly string[]).includes(value);
}

/** The WebGPU adapter the webgpu backend runs on, as Dawn describes it. */
export interface GpuAdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software rasteriser (llvmpipe, lavapipe, SwiftShader, WARP) or a fallback adapter. */
  software: boolean;
  /** 'core', or 'compatibility' (OpenGL ES adapters: fewer features, e.g. Mesa's llvmpipe). */
  featureLevel: 'core' | 'compatibility';
  /** The largest buffer, and the largest one a kernel can bind, in bytes: no tensor may exceed these. */
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeWorkgroupStorageSize: number; maxComputeInvocationsPerWorkgroup: number };
}

/** What backend selection decided, and why each faster backend was passed over. */
export interface BackendReport {
  name: BackendName;
  /** Faster backends that were tried and did not load, with the reason each failed. */
  skipped: { name: BackendName; reason: string }[];
  /** True when the backend was forced (`--backend`) rather than picked. */
  forced: boolean;
  /** wasm only: whether SIMD is in use, and how many threads its matrix products run on. */
  simd?: boolean;
  /** A number; engines before issue #15 sent a boolean (true never happened in Node). */
  threads?: number | boolean;
  /** webgpu only: the adapter. */
  adapter?: GpuAdapterReport;
}

/** "1 thread", "2 threads"; an older engine's boolean reads as 1 thread. */
export function threadCount(threads: number | boolean | undefined): string {
  const n = typeof threads === 'number' && threads > 1 ? threads : 1;
  return n === 1 ? '1 thread' : `${n} threads`;
}

/** A short label for the status bar and run records: "wasm (2 threads)", "webgpu (NVIDIA GeForce RTX 4070)". */
export function backendLabel(report: BackendReport): string {
  const a = report.adapter;
  if (report.name === 'wasm') return `wasm (${threadCount(report.threads)})`;
  if (!a) return report.name;
  const what = a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unknown adapter';
  return `${report.name} (${what}${a.software ? ', software' : ''})`;
}
