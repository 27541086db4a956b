/**
 * The Node entry `fgvis/node`: image files (PNG/JPEG decode, PNG encode via
 * pngjs and jpeg-js), tfjs models from disk without tfjs-node, and the
 * built-in real models (nsfwjs MobileNetV2, human's emotion model), and
 * many images at once on worker threads (`explainMany`, `listImages`).
 *
 * @packageDocumentation
 */
export type { RGBAImage } from '../render/image';
export { decodeImage, readImage, sniffImageFormat } from './read-image';
export type { ImageFormat } from './read-image';
export { encodePNG, writePNG } from './write-png';
export { fileIOHandler, modelJSONPath, readModelJSON } from './file-io-handler';
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
