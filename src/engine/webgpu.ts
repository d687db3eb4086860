// The webgpu backend's set-up: Dawn's Node bindings (the optional `webgpu` package) give Node a
// navigator.gpu; this module picks an adapter, opens a device and registers tfjs's WebGPU backend
// on it. It does not pick between backends (backend.ts does) and holds no model code.
import * as tf from '@tensorflow/tfjs';
import { GpuAdapterReport } from '../protocol';

/** The slice of the WebGPU API used here (the `webgpu` package's own types may be absent). */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}
interface GpuDevice {
  destroy(): void;
  lost: Promise<{ reason: string; message: string }>;
  onuncapturederror: ((ev: { error: { message: string } }) => void) | null;
}
interface GpuAdapter {
  info: GpuAdapterInfo;
  limits: Record<string, number>;
  requestDevice(descriptor: { requiredLimits: Record<string, number> }): Promise<GpuDevice>;
}
interface Gpu {
  requestAdapter(options: Record<string, unknown>): Promise<GpuAdapter | null>;
}
interface Dawn {
  create(options: string[]): Gpu;
  globals: Record<string, unknown>;
}

/** Why the webgpu backend was not used, worded for the backend report. */
export class WebGpuUnavailable extends Error {}

/** How long a driver may take to list adapters or open a device before we call it hung. */
const DRIVER_TIMEOUT_MS = 20_000;

/**
 * Software rasterisers that present themselves as ordinary adapters (Dawn marks only its own
 * fallback as isFallbackAdapter): Mesa's llvmpipe/lavapipe/softpipe, SwiftShader, Windows' WARP.
 */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|\bwarp\b/i;

/** Whether an adapter renders on the CPU: Dawn's fallback, or a software rasteriser by name. */
export function isSoftwareAdapter(info: Partial<GpuAdapterInfo>): boolean {
  return (
    info.isFallbackAdapter === true || SOFTWARE_ADAPTER.test(`${info.vendor ?? ''} ${info.architecture ?? ''} ${info.device ?? ''} ${info.description ?? ''}`)
  );
}

/** The limits a tfjs kernel needs above WebGPU's defaults: asked for at the adapter's maximum. */
const REQUIRED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
];

let active: { device: GpuDevice; report: GpuAdapterReport } | undefined;

function withTimeout<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WebGpuUnavailable(`the GPU driver did not answer ${what} within ${DRIVER_TIMEOUT_MS / 1000} s`)), DRIVER_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `webgpu` is an ES module and tsc compiles import() to require() under CommonJS; Node 20 before
 * 20.19 (and Electron's Node) cannot require() an ES module, so the import is kept out of tsc's sight.
 */
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

async function loadDawn(): Promise<Dawn> {
  try {
    return (await importEsm('webgpu')) as Dawn;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new WebGpuUnavailable("not installed (the optional dependency 'webgpu', Dawn's Node bindings, is missing or has no build for this platform)");
    }
    throw new WebGpuUnavailable(`Dawn's Node bindings did not load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
}

function describe(adapter: GpuAdapter, featureLevel: 'core' | 'compatibility'): GpuAdapterReport {
  const { vendor = '', architecture = '', device = '', description = '', isFallbackAdapter = false } = adapter.info;
  const l = adapter.limits;
  return {
    vendor,
    architecture,
    device,
    description,
    featureLevel,
    software: isSoftwareAdapter({ vendor, architecture, device, description, isFallbackAdapter }),
    limits: {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  };
}

/**
 * The adapter to run on. Dawn's default backend (Metal, Direct3D 12, Vulkan) first. Only when
 * `allowSoftware` (a forced --backend webgpu): a software adapter is accepted, and when Dawn finds
 * none on its default backend, OpenGL ES (Mesa's llvmpipe on a Linux box without a GPU; a
 * compatibility-level adapter, reached through EGL without a display).
 */
async function pickAdapter(dawn: Dawn, allowSoftware: boolean): Promise<{ gpu: Gpu; adapter: GpuAdapter; report: GpuAdapterReport }> {
  const gpu = dawn.create([]);
  const adapter = await withTimeout('an adapter request', gpu.requestAdapter({ powerPreference: 'high-performance' }));
  if (adapter) {
    const report = describe(adapter, 'core');
    if (!report.software || allowSoftware) return { gpu, adapter, report };
    throw new WebGpuUnavailable(`only a software adapter (${report.description || report.device}), which is slower than wasm; --backend webgpu uses it anyway`);
  }
  if (!allowSoftware) throw new WebGpuUnavailable('Dawn found no GPU adapter (no Metal, Direct3D 12 or Vulkan driver)');
  process.env.EGL_PLATFORM ??= 'surfaceless'; // read by libEGL when Dawn opens the display
  const gles = dawn.create(['backend=opengles']);
  const compat = await withTimeout('an OpenGL ES adapter request', gles.requestAdapter({ featureLevel: 'compatibility' }));
  if (!compat)
    throw new WebGpuUnavailable(
      'Dawn found no adapter: no Metal, Direct3D 12 or Vulkan driver, and no OpenGL ES through EGL (on Debian: apt-get install libegl1 libgles2 libegl-mesa0)',
    );
  return { gpu: gles, adapter: compat, report: describe(compat, 'compatibility') };
}

/**
 * Opens a device on the chosen adapter and registers tfjs's 'webgpu' backend on it (replacing the
 * factory the package registers, which asks for a core adapter with default options).
 */
export async function setUpWebGpu(allowSoftware: boolean): Promise<GpuAdapterReport> {
  if (active) return active.report;
  const dawn = await loadDawn();
  const { gpu, adapter, report } = await pickAdapter(dawn, allowSoftware);
  const requiredLimits: Record<string, number> = {};
  for (const name of REQUIRED_LIMITS) if (adapter.limits[name] !== undefined) requiredLimits[name] = adapter.limits[name];
  const device = await withTimeout('a device request', adapter.requestDevice({ requiredLimits }));
  // tfjs reads the WebGPU constants (GPUBufferUsage, ...) and navigator.gpu as browser globals.
  Object.assign(globalThis, dawn.globals);
  const g = globalThis as { navigator?: { gpu?: Gpu } };
  g.navigator ??= {} as { gpu?: Gpu };
  g.navigator.gpu = gpu;
  let firstError: string | undefined;
  device.onuncapturederror = (ev) => {
    firstError ??= ev.error.message.split('\n')[0];
    process.stderr.write(`webgpu: ${ev.error.message}\n`);
  };
  void device.lost.then((info) => {
    if (active?.device === device) process.stderr.write(`webgpu: device lost (${info.reason}): ${info.message}\n`);
  });
  let backendModule: { WebGPUBackend: new (device: unknown, info: unknown) => tf.KernelBackend };
  try {
    backendModule = require('@tensorflow/tfjs-backend-webgpu');
  } catch (err) {
    device.destroy();
    throw new WebGpuUnavailable(
      `@tensorflow/tfjs-backend-webgpu did not load (an optional dependency): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    );
  }
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => failLoudly(new backendModule.WebGPUBackend(device, adapter.info), () => firstError), 0);
  chunkAddN(Math.max(2, (adapter.limits.maxStorageBuffersPerShaderStage ?? 8) - 1));
  active = { device, report };
  // Dawn may keep the event loop alive while a device exists: let the process end when its work is done.
  process.once('beforeExit', releaseWebGpu);
  return report;
}

/** The adapter the webgpu backend runs on, once set up (kernels that must know a software adapter ask). */
export function activeWebGpuAdapter(): GpuAdapterReport | undefined {
  return active?.report;
}

/** Destroys the device and drops navigator.gpu, so that the process can exit. */
export function releaseWebGpu(): void {
  if (!active) return;
  const { device } = active;
  active = undefined;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  device.destroy();
  delete (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
}

/**
 * WebGPU reports a kernel that failed validation (a pipeline over a device limit, say) as an
 * asynchronous event, and the kernel's output is then zeros. Every step ends by reading a value
 * back, so the read fails instead of training on garbage.
 */
function failLoudly(backend: tf.KernelBackend, error: () => string | undefined): tf.KernelBackend {
  const read = backend.read.bind(backend);
  backend.read = async (dataId: object) => {
    const values = await read(dataId);
    const e = error();
    if (e) throw new Error(`webgpu: a GPU kernel failed, so results since then are wrong: ${e}`);
    return values;
  };
  return backend;
}

/**
 * tfjs's WebGPU AddN binds every input as its own storage buffer, which fails validation past the
 * adapter's maxStorageBuffersPerShaderStage (16 on llvmpipe, 8 in WebGPU's defaults; the gradient
 * norm sums one term per weight). Sum at most `maxInputs` at a time, then the partial sums.
 */
function chunkAddN(maxInputs: number): void {
  const original = tf.getKernel(tf.AddN, 'webgpu');
  if (!original || (original.kernelFunc as { chunked?: boolean }).chunked) return;
  const kernelFunc = (args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo => {
    let inputs = args.inputs as unknown as tf.TensorInfo[];
    const made: tf.TensorInfo[] = [];
    while (inputs.length > maxInputs) {
      const partial: tf.TensorInfo[] = [];
      for (let i = 0; i < inputs.length; i += maxInputs) {
        partial.push(original.kernelFunc({ ...args, inputs: inputs.slice(i, i + maxInputs) as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo);
      }
      made.push(...partial);
      inputs = partial;
    }
    const out = original.kernelFunc({ ...args, inputs: inputs as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
    for (const t of made) (args.backend as tf.KernelBackend).disposeData(t.dataId);
    return out;
  };
  kernelFunc.chunked = true;
  tf.unregisterKernel(tf.AddN, 'webgpu');
  tf.registerKernel({ kernelName: tf.AddN, backendName: 'webgpu', kernelFunc });
}
