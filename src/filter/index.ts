/**
 * The gradient-filter hook (the paper's defense against adversarial evidence).
 *
 * @packageDocumentation
 */
export { ACTIVATION_KERNELS, DEFAULT_FILTERED_ACTIVATIONS, DEFAULT_GATED_KERNELS, LAYER_OUTPUT_KERNELS, SMOOTH_ACTIVATION_KERNELS } from './gated-kernels';
export { ActivationBounds, GateBounds, PassThroughBound, type ActivationBound, type GateBound } from './bounds';
export {
  assertGradientsRegistered,
  captureBounds,
  checkGatedKernels,
  gatedKernelsOption,
  GradientFilter,
  withGradientFilter,
  type FilterStats,
  type GradientFilterOptions,
} from './hook';
