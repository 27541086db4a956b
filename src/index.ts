/**
 * fgvis: fine-grained visual explanations (FGVis, Wagner et al. CVPR 2019)
 * for TensorFlow.js image classifiers, with the defense against adversarial
 * evidence. Browser-safe: this entry never imports `node:*`.
 *
 * @packageDocumentation
 */
export { explain, explainBatch, type ExplainBatchOptions, type Explanation, type Target } from './core/explain';
export {
  EXPLAIN_DEFAULTS,
  resolveExplainOptions,
  type ExplainLive,
  type ExplainOptions,
  type ExplainStep,
  type ResolvedExplainOptions,
} from './core/options';
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
} from './model/adapter';
export { modelLabels, withLabels } from './model/labels';
export {
  EMOTION_CLASSES,
  GREY_WEIGHTS,
  MODEL_REGISTRY,
  NSFW_CLASSES,
  imagePreprocessor,
  modelArtifacts,
  modelSpec,
  type ImagePreprocessorOptions,
  type ModelSource,
  type ModelSpec,
  type PackageFileReader,
} from './model/registry';
export { composeExplanation, createMask, type Mask, type MaskOptions, type MaskParameterization } from './core/mask';
export { gaussianBlur, makeReference, type Reference, type ReferenceOptions } from './util/reference';
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
} from './core/loss';
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
export { RunControl, metGoal, type BackoffOptions, type EarlyStopOptions, type RunControlOptions } from './core/control';
export { AutoLambda, AUTO_LAMBDA_DEFAULTS, scoreGoal, type AutoLambdaOptions, type ScoreGoal } from './core/lambda';
export { yieldToEventLoop } from './util/event-loop';
export { FgvisArgumentError, FgvisModelError } from './util/errors';
export type { Attribution, AttributionMethod } from "./util/attribution";
export * from './metrics';
export * from './baselines';
export * from './render';
