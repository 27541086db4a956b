/**
 * The Node entry `fgvis/node`: image files (PNG/JPEG decode, PNG encode via
 * pngjs and jpeg-js), tfjs models from disk without tfjs-node, and the
 * built-in real models (nsfwjs MobileNetV2, human's emotion model).
 *
 * @example
 * ```ts
 * import { builtinModel, readImage, writePNG } from 'fgvis/node';
 *
 * const emotion = builtinModel('emotion'); // needs @vladmandic/human installed
 * const model = await emotion.load();
 * const x = emotion.preprocess(await readImage('face.png'));
 * ```
 *
 * @packageDocumentation
 * @module fgvis/node
 */
export type { RGBAImage } from '../render/image';
export { decodeImage, readImage } from './read-image';
export type { ImageFormat } from './read-image';
export { encodePNG, writePNG } from './write-png';
export { fileIOHandler } from './file-io-handler';
export { loadModel, loadModelFromDisk } from './load-model';
export type { LoadedModel, LoadModelOptions, ModelKind } from './load-model';
export { MissingPackageError } from './resolve-package';
export {
  BUILTIN_MODELS,
  DEFAULT_BUILTIN_MODEL,
  EMOTION_CLASSES,
  NSFW_CLASSES,
  builtinModel,
  isBuiltinModel,
} from './builtin-models';
export type { BuiltinModel } from './builtin-models';
