/**
 * fgvis: fine-grained visual explanations (FGVis, Wagner et al. CVPR 2019)
 * for TensorFlow.js image classifiers, with the defense against adversarial
 * evidence. Browser-safe: this entry never imports `node:*`.
 *
 * This entry holds the method: {@link explain}, {@link explainBatch}, the
 * pieces they are built from (the mask, the gradient filter, the loss, the
 * optimiser loop with the automatic lambda, the input-gradient kernels), their
 * types and the errors. The rest lives in its own entry point:
 * `fgvis/baselines`, `fgvis/metrics`, `fgvis/render` and (Node only) `fgvis/node`.
 *
 * @example
 * ```ts
 * import '@tensorflow/tfjs-layers'; // registers tfjs's gradients
 * import '@tensorflow/tfjs-backend-wasm';
 * import * as tf from '@tensorflow/tfjs-core';
 * import { explain } from 'fgvis';
 *
 * await tf.setBackend('wasm');
 * using result = await explain(model, image, 'top'); // frees its tensors at the end of the block
 * console.log(result.target, result.scores.explanation, result.maskMean);
 * ```
 *
 * @packageDocumentation
 * @module fgvis
 */

// ---- explain and explainBatch
export { explain, explainBatch, type ExplainBatchOptions, type Explanation, type Target } from './core/explain';
export { EXPLAIN_DEFAULTS, type ExplainLive, type ExplainOptions, type ExplainStep, type ResolvedExplainOptions } from './core/options';

// ---- the model adapter: GraphModel | LayersModel | function -> log-probabilities
export {
  adaptModel,
  selectClass,
  type AdaptModelOptions,
  type ExplainableModel,
  type GraphModelLike,
  type LayersModelLike,
  type ModelFunction,
  type ScoreKind,
  type ScoreModel,
  type ScoresOption,
} from './model/adapter';

// ---- class names: targets by name for a model that carries them
export { modelLabels, withLabels } from './model/labels';

// ---- piece 1: the mask and the references
export { composeExplanation, createMask, type Mask, type MaskOptions, type MaskParameterization } from './core/mask';
export { makeReference, type Reference, type ReferenceOptions } from './util/reference';

// ---- piece 2: the gradient filter (the defense against adversarial evidence)
export {
  assertGradientsRegistered,
  captureBounds,
  withGradientFilter,
  GradientFilter,
  GateBounds,
  DEFAULT_GATED_KERNELS,
  ACTIVATION_KERNELS,
  LAYER_OUTPUT_KERNELS,
  PassThroughBound,
  type GateBound,
  type FilterStats,
  type GradientFilterOptions,
  // Deprecated aliases of GateBounds, DEFAULT_GATED_KERNELS and GateBound:
  ActivationBounds,
  DEFAULT_FILTERED_ACTIVATIONS,
  type ActivationBound,
} from './filter';
export { withInputGradientKernels, type InputGradientKernelOptions } from './kernels';

// ---- piece 3: the loss
export {
  buildLoss,
  crossEntropyWithImage,
  maskL1,
  targetLogScore,
  targetScore,
  targetLogComplement,
  CLASS_TERMS,
  DEFAULT_CLASS_TERM,
  type ClassTermKind,
  type FgvisLoss,
  type Game,
  type LossOptions,
} from './core/loss';

// ---- piece 4: the optimiser loop, the automatic lambda and the run control
export {
  adam,
  sgd,
  optimize,
  type AdamOptions,
  type Optimizer,
  type OptimizeOptions,
  type OptimizeResult,
  type SgdOptions,
  type StepOutput,
  type StepRecord,
} from './core/optimize';
export { RunControl, type BackoffOptions, type EarlyStopOptions, type RunControlOptions } from './core/control';
export { AutoLambda, AUTO_LAMBDA_DEFAULTS, scoreGoal, type AutoLambdaOptions, type ScoreGoal } from './core/lambda';

// ---- the result shape shared with fgvis/baselines, and the errors
export type { Attribution, AttributionMethod, Disposable, DisposableAttribution } from './util/attribution';
export { FgvisArgumentError, FgvisModelError } from './util/errors';
export { FgvisVersionError } from './util/tfjs-version';
