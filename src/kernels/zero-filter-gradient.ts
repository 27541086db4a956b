/**
 * Stand-ins for the filter-gradient kernels that return zeros.
 *
 * While fgvis computes gradients with respect to the model input only, the
 * gradient of every convolution filter is thrown away. Fused convolutions with
 * a linear activation stay fused under a tape, and their custom gradient
 * computes the filter gradient eagerly (about 87 % of a MobileNetV2 step on the
 * cpu backend); the wasm backend has no filter-gradient kernels at all. These
 * stubs return zeros of the filter shape instead, which leaves the input
 * gradient bit-identical as long as no filter depends on the input.
 *
 * @packageDocumentation
 */
import type { KernelBackend, KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { backendZeros } from './kernel-call';

/** Kernel names whose patches return zeros of the filter shape. */
export const ZERO_FILTER_GRADIENT_KERNELS = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter'] as const;

/**
 * A kernel config for `Conv2DBackpropFilter` or
 * `DepthwiseConv2dNativeBackpropFilter` on `backendName` that ignores its
 * inputs and returns float32 zeros of the shape in the `filterShape` attribute,
 * allocated by the backend's own `Fill` kernel. Nothing is cached between calls:
 * the engine owns (and the tape disposes) every returned tensor.
 */
export function zeroFilterGradientKernel(backendName: string): Omit<KernelConfig, 'kernelName' | 'backendName'> {
  const kernelFunc: KernelFunc = ({ backend, attrs }) => {
    const filterShape = attrs?.['filterShape'];
    if (!Array.isArray(filterShape) || filterShape.length !== 4 || !filterShape.every((d) => typeof d === 'number')) {
      throw new Error(
        `fgvis kernels: zero filter gradient expects a filterShape attribute of 4 numbers, got ${JSON.stringify(filterShape)}`,
      );
    }
    return backendZeros(backendName, backend as KernelBackend, filterShape as number[], 'float32');
  };
  return { kernelFunc };
}
