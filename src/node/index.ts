/**
 * The Node entry `fgvis/node`: image files (PNG/JPEG/WebP decode with pngjs,
 * jpeg-js and @jsquash/webp, with pixel limits and EXIF orientation; PNG
 * encode), tfjs models from disk without tfjs-node (checked: weight paths
 * confined, sizes verified), the built-in real models (nsfwjs MobileNetV2,
 * human's emotion model), and many images at once on worker threads
 * (`explainMany`, `listImages`).
 *
 * @packageDocumentation
 */
export type { RGBAImage } from '../render/image';
export { IMAGE_DEFAULTS, decodeImage, decodeImageAsync, probeImage, readImage, sniffImageFormat } from './read-image';
export type { ImageFormat, ImageInfo, ReadImageOptions, SniffedFormat } from './read-image';
export { MAX_JPEG_SCANS } from './image-header';
export { applyOrientation } from './orientation';
export { FgvisImageError, FgvisModelFileError } from './errors';
export type { ImageErrorCode, ModelFileErrorCode } from './errors';
export { MODEL_FILE_DEFAULTS, MAX_WEIGHT_RANK, ManifestProblem, checkWeightsManifest } from './weights-manifest';
export type { CheckedGroup, CheckedManifest, ManifestLimits } from './weights-manifest';
export { encodePNG, writePNG } from './write-png';
export { MAX_MODEL_JSON_BYTES, fileIOHandler, modelJSONPath, readModelJSON } from './file-io-handler';
export type { ModelFileOptions } from './file-io-handler';
export { detectModelKind, importLayers, loadModel, loadModelFromDisk } from './load-model';
export type { LoadedModel, LoadModelOptions, ModelKind } from './load-model';
export { MissingPackageError, packageFile, packageRoot } from './resolve-package';
export { NSFWJS_INSTALL, NSFWJS_VERSION, nsfwjsIOHandler, readNsfwjsModel } from './nsfwjs-bundle';
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
export { IMAGE_EXTENSIONS, compareKeys, listImages, takeShard } from './many/images';
export type { ImageFile, ImageListing, ListImagesOptions, Shard } from './many/images';
