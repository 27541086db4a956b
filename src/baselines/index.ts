/**
 * Baselines for comparison with FGVis, each with fgvis's call shape
 * `(model, input, target, options) => Promise<Attribution>`: gradient
 * saliency, SmoothGrad, Integrated Gradients, Grad-CAM, occlusion and
 * Meaningful Perturbation. Written from the papers.
 *
 * @example
 * ```ts
 * import { BASELINES, smoothGrad } from 'fgvis/baselines';
 *
 * using sg = await smoothGrad(model, image, 'top', { samples: 20 });
 * const saliency = await sg.saliency.data(); // [H, W] in [0, 1]
 * ```
 *
 * @packageDocumentation
 * @module fgvis/baselines
 */
import type { AttributionMethod } from '../util/attribution';
import { gradCam } from './gradcam';
import { gradientSaliency } from './gradient';
import { integratedGradients } from './integrated-gradients';
import { meaningfulPerturbation } from './meaningful-perturbation';
import { occlusion } from './occlusion';
import { smoothGrad } from './smoothgrad';

export type { Attribution, AttributionMethod, Disposable, DisposableAttribution } from '../util/attribution';
export type { ChannelReduction, ClassScore, ModelReadOptions, ScoreOption } from './common';
export { type FeatureSplit } from './features';
export { gradientSaliency, GRADIENT_SALIENCY_DEFAULTS, type GradientSaliencyOptions, type GradientSaliencyResult } from './gradient';
export { smoothGrad, SMOOTH_GRAD_DEFAULTS, type SmoothGradAggregate, type SmoothGradOptions, type SmoothGradResult } from './smoothgrad';
export {
  integratedGradients,
  INTEGRATED_GRADIENTS_DEFAULTS,
  type Completeness,
  type IntegratedGradientsOptions,
  type IntegratedGradientsResult,
  type IntegrationRule,
} from './integrated-gradients';
export { gradCam, GRAD_CAM_DEFAULTS, type GradCamOptions, type GradCamResult } from './gradcam';
export { occlusion, OCCLUSION_DEFAULTS, type OcclusionOptions, type OcclusionResult } from './occlusion';
export {
  meaningfulPerturbation,
  MEANINGFUL_PERTURBATION_DEFAULTS,
  MEANINGFUL_PERTURBATION_REFERENCE_CELLS,
  type MeaningfulPerturbationOptions,
  type MeaningfulPerturbationResult,
} from './meaningful-perturbation';

/** The names of the baselines in {@link BASELINES}. */
export type BaselineName = 'gradient' | 'smoothGrad' | 'integratedGradients' | 'gradCam' | 'occlusion' | 'meaningfulPerturbation';

/**
 * Every baseline by name, for evaluation scripts:
 * `for (const [name, method] of Object.entries(BASELINES)) await method(model, x, 'top')`.
 * Each keeps its own options type; called without options, every one runs with its defaults
 * (Grad-CAM on a function model needs `options.split`).
 */
export const BASELINES = {
  gradient: gradientSaliency,
  smoothGrad,
  integratedGradients,
  gradCam,
  occlusion,
  meaningfulPerturbation,
} as const satisfies Record<BaselineName, AttributionMethod<never>>;
