/**
 * An `Identity` kernel that shares its input's buffer (one more reference)
 * instead of copying it.
 *
 * While a tape records, tfjs-core saves every tensor a gradient needs with
 * `keep(clone(t))`, and `clone` runs the `Identity` kernel. The cpu backend's
 * `Identity` shares the buffer; the wasm backend's copies it. In an FGVis step
 * that copies every convolution filter of the model and every saved activation,
 * in every step (hundreds of copies, tens of megabytes for MobileNetV2), and
 * gives the saved filters a new buffer each step, which defeats the per-filter
 * caches (XNNPACK's packed operators, fgvis's flipped filters). Tensors are
 * immutable in tfjs and the wasm backend is reference counted (its `Reshape`
 * shares buffers the same way), so sharing is safe.
 *
 * @packageDocumentation
 */
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * A kernel config for `Identity` that returns its input's `dataId` with one
 * more reference, on backends with `incRef` (wasm, cpu). String tensors and
 * backends without `incRef` go to `fallback`.
 */
export function sharedIdentityKernel(fallback: KernelFunc | undefined): Omit<KernelConfig, 'kernelName' | 'backendName'> {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const backend = args.backend as KernelBackend & { incRef?: (dataId: object) => void };
    if (x.dtype === 'string' || typeof backend.incRef !== 'function') {
      if (fallback == null) throw new Error('fgvis kernels: shared Identity needs a backend with incRef');
      return fallback(args);
    }
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  };
  return { kernelFunc };
}
