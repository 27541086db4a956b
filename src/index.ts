/**
 * fgvis: fine-grained visual explanations (FGVis, Wagner et al. CVPR 2019)
 * for TensorFlow.js image classifiers, with the defense against adversarial
 * evidence. Browser-safe: this entry never imports `node:*`.
 *
 * @packageDocumentation
 */
export { explain, explainBatch, type ExplainBatchOptions, type Explanation, type Target } from './explain';
export {
  EXPLAIN_DEFAULTS,
  resolveExplainOptions,
  type ExplainLive,
  type ExplainOptions,
  type ExplainStep,
  type ResolvedExplainOptions,
} from './options';
export {
  adaptModel,
  modelKind,
  selectClass,
  type AdaptModelOptions,
  type ExplainableModel,
  type GraphModelLike,
  type LayersModelLike,
  type ModelFunction,
  type ScoreKind,
  type ScoreModel,
  type ScoresOption,
} from './model';
export {
  composeExplanation,
  createMask,
  gaussianBlur,
  makeReference,
  type Mask,
  type MaskOptions,
  type MaskParameterization,
  type Reference,
  type ReferenceOptions,
} from './mask';
export {
  assertGradientsRegistered,
  captureBounds,
  withGradientFilter,
  GradientFilter,
  ActivationBounds,
  DEFAULT_FILTERED_ACTIVATIONS,
  ACTIVATION_KERNELS,
  LAYER_OUTPUT_KERNELS,
  PassThroughBound,
  type ActivationBound,
  type FilterStats,
  type GradientFilterOptions,
} from './filter';
export { withInputGradientKernels, inputGradientPatches } from './kernels';
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
} from './loss';
export {
  adam,
  sgd,
  optimize,
  yieldToEventLoop,
  type AdamOptions,
  type Optimizer,
  type OptimizeOptions,
  type OptimizeResult,
  type SgdOptions,
  type StepOutput,
  type StepRecord,
} from './optimize';
export { runController, metGoal, type BackoffOptions, type EarlyStopOptions, type RunControlOptions } from './control';
export { AutoLambda, AUTO_LAMBDA_DEFAULTS, scoreGoal, type AutoLambdaOptions, type ScoreGoal } from './lambda';
export { FgvisArgumentError, FgvisModelError } from './errors';
export type { Attribution, AttributionMethod } from "./attribution";
export * from './metrics';
export * from './baselines';
export * from './render';
