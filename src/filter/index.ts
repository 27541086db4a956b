/**
 * The gradient-filter hook (the paper's defense against adversarial evidence).
 *
 * @packageDocumentation
 */
export { ACTIVATION_KERNELS, DEFAULT_FILTERED_ACTIVATIONS, LAYER_OUTPUT_KERNELS } from './activations';
export { ActivationBounds, PassThroughBound, type ActivationBound } from './bounds';
export {
  assertGradientsRegistered,
  captureBounds,
  GradientFilter,
  withGradientFilter,
  type FilterStats,
  type GradientFilterOptions,
} from './hook';
