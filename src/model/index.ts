/**
 * `fgvis/models`: the built-in real models, browser-safe (no `node:*`): for
 * each, the npm package and files its weights come from, its input size,
 * value range, class names, normalised zero and exact preprocessing, and how
 * its files' bytes become tfjs model artifacts (`modelArtifacts`, for a
 * browser that fetches them; in Node, `builtinModel()` of `fgvis/node` finds
 * and loads them).
 *
 * @example
 * ```ts
 * import { modelSpec } from 'fgvis/models';
 *
 * const emotion = modelSpec('emotion');
 * const x = emotion.preprocess(faceImage); // [1, 64, 64, 1] in [-1, 1]
 * const result = await explain(model, x, 'happy', { labels: emotion.classes });
 * ```
 *
 * @packageDocumentation
 * @module fgvis/models
 */
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
} from './registry';
