/**
 * Kernel patches for input-only gradients.
 *
 * fgvis needs gradients of a class score with respect to the model input,
 * never the weights, hundreds of times. For the duration of one synchronous
 * gradient computation it swaps, on the active backend:
 *
 * - `Conv2DBackpropFilter` and `DepthwiseConv2dNativeBackpropFilter` (every
 *   backend) for kernels that return zeros of the filter shape: fused
 *   convolutions with a linear activation compute their filter gradient eagerly
 *   under a tape, which is ~87 % of a MobileNetV2 step on cpu, and the wasm
 *   backend has no such kernels. Input gradients stay bit-identical.
 * - on wasm only, kernels the backend lacks, composed from its own forward
 *   kernels: `DepthwiseConv2dNativeBackpropInput` (the input gradient of every
 *   depthwise convolution) and `UnsortedSegmentSum` (the gradient of `gather`).
 *   They are added only while the backend has no kernel of that name, so a
 *   future native kernel wins.
 * - on wasm, `Conv2DBackpropInput` replaced by a composite of the backend's
 *   `Conv2D` (`fastConvBackpropInput`, default on): ~3x faster than the stock
 *   kernel there, ~1.7x on a whole MobileNetV2 input gradient. Composites are
 *   per-backend choices: the same composite broke on webgl.
 * - on wasm, `MaxPoolGrad` replaced by a JavaScript loop over the heap
 *   (`correctMaxPoolGrad`, default on): the stock kernel (tfjs-backend-wasm
 *   4.22) sends the gradient of a window of negative values to the window's
 *   first position instead of its maximum, so models that max-pool signed
 *   values got wrong input gradients. See `max-pool-grad.ts`.
 * - on wasm, `Identity` (which tfjs runs to save every tensor a gradient
 *   needs) shares buffers instead of copying them, as on cpu
 *   (`shareSavedTensors`, default on).
 * - the composites' flipped filters are cached across calls, keyed by the
 *   model's weight buffers (see `filter-cache.ts`): on wasm this keeps
 *   XNNPACK's packed operators alive across steps (~2x on a MobileNetV2 step).
 *
 * Every swap is undone in a `finally`, also when `f` throws; nothing is held
 * across an `await` (`f` must be synchronous).
 *
 * Assumption: no convolution filter depends on the input. A model whose filters
 * are computed from the input (dynamic convolutions) would get wrong input
 * gradients; pass `{ zeroFilterGradients: false }` for such models.
 *
 * @packageDocumentation
 */
import { getBackend, getGradient, getKernel, type GradConfig, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { swapGradients, swapKernels, withSwaps } from '../util/kernel-registry';
import { describe, FgvisArgumentError } from '../util/errors';
import { checkOptionNames } from '../util/validate';
import { inputOnlyBatchNormGradient } from './batch-norm-gradient';
import { maxPoolGradKernel } from './max-pool-grad';
import { withTapeCleanup } from '../util/tape';
import { INPUT_GRADIENT_FILTER_CACHE } from './filter-cache';
import { conv2DBackpropInputComposite, depthwiseConv2dNativeBackpropInputComposite } from './transposed-conv';
import { sharedIdentityKernel } from './shared-identity';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum';
import { ZERO_FILTER_GRADIENT_KERNELS, zeroFilterGradientKernel } from './zero-filter-gradient';

/** A kernel patch: the kernel config without its name and backend. */
export type KernelPatch = Omit<KernelConfig, 'kernelName' | 'backendName'>;

/** Options of {@link withInputGradientKernels} and `inputGradientPatches` (internal). */
export interface InputGradientKernelOptions {
  /**
   * Replace the filter-gradient kernels with zero stubs (default `true`).
   * Turn off only for models whose convolution filters depend on the input;
   * on wasm, gradients through linear fused convolutions then fail.
   */
  zeroFilterGradients?: boolean;
  /**
   * Add kernels the backend lacks, composed from its forward kernels (default
   * `true`; wasm only: `DepthwiseConv2dNativeBackpropInput`, `UnsortedSegmentSum`).
   */
  missingKernels?: boolean;
  /**
   * On wasm, replace the stock `Conv2DBackpropInput` with a composite of the
   * backend's `Conv2D` (default `true`; figures from `test/kernels/bench-kernels.ts`).
   */
  fastConvBackpropInput?: boolean;
  /**
   * On wasm, replace the copying `Identity` kernel with one that shares the
   * buffer (default `true`): tfjs clones every tensor it saves for the backward
   * pass, and the wasm copy costs a copy of all filters and saved activations
   * per step and defeats the caches of packed and flipped filters.
   */
  shareSavedTensors?: boolean;
  /**
   * On wasm, replace the stock `MaxPoolGrad` with a JavaScript kernel (default
   * `true`): tfjs-backend-wasm's (4.22) gives the gradient of a pooling window
   * whose values are all negative to the window's first position instead of its
   * maximum. The replacement equals the cpu kernel (the gradient goes to the
   * first maximum of each window). `false` restores the stock, wrong gradients
   * (for comparisons only).
   */
  correctMaxPoolGrad?: boolean;
  /**
   * Every backend: replace the gradient of `FusedBatchNorm` with one that
   * computes the input gradient without tiling and computes the statistics'
   * gradients only when asked (default `true`; same values). See
   * `batch-norm-gradient.ts`.
   */
  inputOnlyBatchNorm?: boolean;
}

/** Backends for which the composites below were verified (adjoint and reference tests). */
const COMPOSITE_BACKENDS = new Set(['wasm']);

/**
 * Backends whose stock `MaxPoolGrad` is wrong (checked: cpu is right; webgl and
 * webgpu track whether a maximum was found, as cpu does).
 */
const MAX_POOL_GRAD_BACKENDS = new Set(['wasm']);

/** Kernel functions made by this module, to recognise our own registrations. */
const ours = new WeakSet<KernelFunc>();
/** Per-backend patch configs: pure functions, no tensors, safe to reuse. */
const cache = new Map<string, Map<string, KernelPatch>>();

/**
 * A per-backend cache of one patch that wraps the backend's stock kernel
 * (its fallback): made once per backend, and made again only when the stock
 * kernel it wraps has changed.
 */
function stockWrappingPatch(make: (backendName: string, stock: KernelFunc | undefined) => KernelPatch): (backendName: string, stock: KernelFunc | undefined) => KernelPatch {
  const made = new Map<string, { stock: KernelFunc | undefined; patch: KernelPatch }>();
  return (backendName, stock) => {
    const hit = made.get(backendName);
    if (hit != null && hit.stock === stock) return hit.patch;
    const patch = mark(make(backendName, stock));
    made.set(backendName, { stock, patch });
    return patch;
  };
}

/** The shared `Identity`, falling back to the stock kernel. */
const identityPatchFor = stockWrappingPatch((_, stock) => sharedIdentityKernel(stock));
/** `MaxPoolGrad`, falling back to the stock kernel for other dtypes. */
const maxPoolPatchFor = stockWrappingPatch((_, stock) => maxPoolGradKernel(stock));
/** The `Conv2DBackpropInput` composite, falling back to the stock kernel for NCHW. */
const convPatchFor = stockWrappingPatch((backendName, stock) => conv2DBackpropInputComposite(backendName, stock, INPUT_GRADIENT_FILTER_CACHE));

function mark(patch: KernelPatch): KernelPatch {
  ours.add(patch.kernelFunc);
  return patch;
}

function patchesFor(backendName: string): Map<string, KernelPatch> {
  let m = cache.get(backendName);
  if (m == null) {
    m = new Map();
    const zero = mark(zeroFilterGradientKernel(backendName));
    for (const name of ZERO_FILTER_GRADIENT_KERNELS) m.set(name, zero);
    m.set('DepthwiseConv2dNativeBackpropInput', mark(depthwiseConv2dNativeBackpropInputComposite(backendName, INPUT_GRADIENT_FILTER_CACHE)));
    m.set('UnsortedSegmentSum', mark(unsortedSegmentSumKernel()));
    cache.set(backendName, m);
  }
  return m;
}

/** Whether the registry lacks `name` on `backendName`, or holds one of our patches. */
function missingOrOurs(name: string, backendName: string): boolean {
  const current = getKernel(name, backendName);
  return current == null || ours.has(current.kernelFunc);
}

/**
 * The patches that {@link withInputGradientKernels} would apply on the backend
 * named `backendName` right now (for tests, docs, benchmarks): kernel name to
 * kernel config (without `kernelName` and `backendName`). Composites for
 * missing kernels appear only while the backend lacks that kernel.
 */
export function inputGradientPatches(
  backendName: string,
  options: InputGradientKernelOptions = {},
): ReadonlyMap<string, KernelPatch> {
  const {
    zeroFilterGradients = true,
    missingKernels = true,
    fastConvBackpropInput = true,
    shareSavedTensors = true,
    correctMaxPoolGrad = true,
  } = options;
  const all = patchesFor(backendName);
  const out = new Map<string, KernelPatch>();
  if (zeroFilterGradients) {
    for (const name of ZERO_FILTER_GRADIENT_KERNELS) out.set(name, all.get(name)!);
  }
  if (COMPOSITE_BACKENDS.has(backendName)) {
    if (missingKernels) {
      for (const name of ['DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum']) {
        if (missingOrOurs(name, backendName)) out.set(name, all.get(name)!);
      }
    }
    if (fastConvBackpropInput) {
      const current = getKernel('Conv2DBackpropInput', backendName);
      // Already ours (a nested call): leave it. The stock kernel still serves NCHW.
      if (current == null || !ours.has(current.kernelFunc)) {
        out.set('Conv2DBackpropInput', convPatchFor(backendName, current?.kernelFunc));
      }
    }
    if (shareSavedTensors) {
      const current = getKernel('Identity', backendName);
      if (current == null || !ours.has(current.kernelFunc)) out.set('Identity', identityPatchFor(backendName, current?.kernelFunc));
    }
  }
  if (correctMaxPoolGrad && MAX_POOL_GRAD_BACKENDS.has(backendName)) {
    const current = getKernel('MaxPoolGrad', backendName);
    if (current == null || !ours.has(current.kernelFunc)) out.set('MaxPoolGrad', maxPoolPatchFor(backendName, current?.kernelFunc));
  }
  return out;
}

/** Our `FusedBatchNorm` gradients, by the original they wrap. */
const bnConfigs = new WeakMap<GradConfig, GradConfig>();
const bnOurs = new WeakSet<GradConfig['gradFunc']>();

/** The input-only `FusedBatchNorm` gradient wrapping the registered one, or null (none registered, or already ours). */
function batchNormGradient(): GradConfig | null {
  const original = getGradient('FusedBatchNorm');
  if (original == null || bnOurs.has(original.gradFunc)) return null;
  let config = bnConfigs.get(original);
  if (config == null) {
    config = inputOnlyBatchNormGradient(original);
    bnConfigs.set(original, config);
    bnOurs.add(config.gradFunc);
  }
  return config;
}

/**
 * Run synchronous `f` with kernels patched for input-only gradients on the
 * active backend (see `inputGradientPatches`); restores every kernel
 * afterwards (the identical `KernelConfig` objects, or removes kernels that did
 * not exist), also when `f` throws.
 *
 * @throws Error when `f` returns a Promise: patches must not be held across an await.
 */
export function withInputGradientKernels<T>(f: () => T, options: InputGradientKernelOptions = {}): T {
  checkKernelOptions('withInputGradientKernels', f, options);
  const backendName = getBackend();
  const patches = inputGradientPatches(backendName, options);
  INPUT_GRADIENT_FILTER_CACHE.sweep();
  const swaps = [() => swapKernels(backendName, patches)];
  const bn = options.inputOnlyBatchNorm === false ? null : batchNormGradient();
  if (bn) swaps.push(() => swapGradients(new Map([['FusedBatchNorm', bn]])));
  return withTapeCleanup(() =>
    withSwaps(swaps, () => {
      const out = f();
      if (out instanceof Promise) {
        out.catch(() => undefined);
        throw new FgvisArgumentError(
          'withInputGradientKernels',
          'f',
          'must be synchronous, got a function that returned a Promise: kernel patches must not be held across an await',
        );
      }
      return out;
    }),
  );
}

/** Option names of {@link InputGradientKernelOptions} (keep in sync with the interface). */
const KERNEL_OPTIONS = [
  'zeroFilterGradients',
  'missingKernels',
  'fastConvBackpropInput',
  'shareSavedTensors',
  'correctMaxPoolGrad',
  'inputOnlyBatchNorm',
];

function checkKernelOptions(fn: string, f: unknown, options: InputGradientKernelOptions): void {
  if (typeof f !== 'function') throw new FgvisArgumentError(fn, 'f', `must be a function, got ${describe(f)}`);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new FgvisArgumentError(fn, 'options', `must be an object, got ${describe(options)}`);
  }
  checkOptionNames(fn, options, KERNEL_OPTIONS);
  for (const [k, v] of Object.entries(options)) {
    if (v !== undefined && typeof v !== 'boolean') throw new FgvisArgumentError(fn, `options.${k}`, `must be a boolean, got ${describe(v)}`);
  }
}
