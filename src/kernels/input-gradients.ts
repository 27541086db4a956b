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
import { getBackend, getKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { swapKernels, withSwaps } from '../registry';
import { withTapeCleanup } from '../tape';
import { INPUT_GRADIENT_FILTER_CACHE } from './filter-cache';
import { conv2DBackpropInputComposite, depthwiseConv2dNativeBackpropInputComposite } from './transposed-conv';
import { sharedIdentityKernel } from './shared-identity';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum';
import { ZERO_FILTER_GRADIENT_KERNELS, zeroFilterGradientKernel } from './zero-filter-gradient';

/** A kernel patch: the kernel config without its name and backend. */
export type KernelPatch = Omit<KernelConfig, 'kernelName' | 'backendName'>;

/** Options of {@link withInputGradientKernels} and {@link inputGradientPatches}. */
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
}

/** Backends for which the composites below were verified (adjoint and reference tests). */
const COMPOSITE_BACKENDS = new Set(['wasm']);

/** Kernel functions made by this module, to recognise our own registrations. */
const ours = new WeakSet<KernelFunc>();
/** Per-backend patch configs: pure functions, no tensors, safe to reuse. */
const cache = new Map<string, Map<string, KernelPatch>>();
/** Per-backend shared `Identity`, with the stock kernel it falls back to. */
const identityCache = new Map<string, { stock: KernelFunc | undefined; patch: KernelPatch }>();

function identityPatchFor(backendName: string, stock: KernelFunc | undefined): KernelPatch {
  const hit = identityCache.get(backendName);
  if (hit != null && hit.stock === stock) return hit.patch;
  const patch = mark(sharedIdentityKernel(stock));
  identityCache.set(backendName, { stock, patch });
  return patch;
}

/** Per-backend `Conv2DBackpropInput` composite, with the stock kernel it falls back to for NCHW. */
const convCache = new Map<string, { stock: KernelFunc | undefined; patch: KernelPatch }>();

function convPatchFor(backendName: string, stock: KernelFunc | undefined): KernelPatch {
  const hit = convCache.get(backendName);
  if (hit != null && hit.stock === stock) return hit.patch;
  const patch = mark(conv2DBackpropInputComposite(backendName, stock, INPUT_GRADIENT_FILTER_CACHE));
  convCache.set(backendName, { stock, patch });
  return patch;
}

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
  const { zeroFilterGradients = true, missingKernels = true, fastConvBackpropInput = true, shareSavedTensors = true } = options;
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
  return out;
}

/**
 * Run synchronous `f` with kernels patched for input-only gradients on the
 * active backend (see {@link inputGradientPatches}); restores every kernel
 * afterwards (the identical `KernelConfig` objects, or removes kernels that did
 * not exist), also when `f` throws.
 *
 * @throws Error when `f` returns a Promise: patches must not be held across an await.
 */
export function withInputGradientKernels<T>(f: () => T, options: InputGradientKernelOptions = {}): T {
  const backendName = getBackend();
  const patches = inputGradientPatches(backendName, options);
  INPUT_GRADIENT_FILTER_CACHE.sweep();
  return withTapeCleanup(() => withSwaps([() => swapKernels(backendName, patches)], f));
}
