/**
 * Kernel patches that make input-only gradients fast (cpu) and possible (wasm).
 *
 * @packageDocumentation
 */
export {
  inputGradientPatches,
  withInputGradientKernels,
  type InputGradientKernelOptions,
  type KernelPatch,
} from './input-gradients';
export { conv2DBackpropInputComposite, depthwiseConv2dNativeBackpropInputComposite } from './transposed-conv';
export { maxPoolGradKernel } from './max-pool-grad';
export { unsortedSegmentSumKernel } from './unsorted-segment-sum';
export { ZERO_FILTER_GRADIENT_KERNELS, zeroFilterGradientKernel } from './zero-filter-gradient';
export { clearInputGradientCache, FilterCache, INPUT_GRADIENT_FILTER_CACHE } from './filter-cache';
export { backendZeros, callKernel, KernelScope } from './kernel-call';
