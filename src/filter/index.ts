/**
 * The gradient-filter hook (the paper's defense against adversarial evidence).
 *
 * @packageDocumentation
 */
export { DEFAULT_FILTERED_ACTIVATIONS } from './activations';
export { ActivationBounds, type ActivationBound } from './bounds';
export {
  assertGradientsRegistered,
  captureBounds,
  GradientFilter,
  withGradientFilter,
  type FilterStats,
  type GradientFilterOptions,
} from './hook';
