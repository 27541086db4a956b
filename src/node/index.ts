/**
 * The Node entry `fgvis/node`: image files (PNG/JPEG/WebP decode with pngjs,
 * jpeg-js and @jsquash/webp, with pixel limits and EXIF orientation; PNG
 * encode), tfjs models from disk without tfjs-node (checked: weight paths
 * confined, sizes verified), the built-in real models (nsfwjs MobileNetV2,
 * human's emotion model), and many images at once on worker threads
 * (`explainMany`, `listImages`).
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
export { IMAGE_DEFAULTS, decodeImage, decodeImageAsync, probeImage, readImage } from './read-image';
export type { ImageFormat, ImageInfo, ReadImageOptions } from './read-image';
export { FgvisImageError, FgvisModelFileError } from './errors';
export type { ImageErrorCode, ModelFileErrorCode } from './errors';
export { MODEL_FILE_DEFAULTS } from './weights-manifest';
export type { ManifestLimits } from './weights-manifest';
export { encodePNG, writePNG } from './write-png';
export { fileIOHandler } from './file-io-handler';
export type { ModelFileOptions } from './file-io-handler';
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
export { explainFiles, explainMany } from './many/explain-many';
export type { ExplainFilesReport, ExplainManyItem, ExplainManyOptions, ManyModel, ModelFile } from './many/explain-many';
export { ExplainManyError } from './many/protocol';
export type { ManyResult } from './many/protocol';
export { listImages, takeShard } from './many/images';
export type { ImageFile, ImageListing, ListImagesOptions, Shard } from './many/images';
