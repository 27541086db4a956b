/**
 * The built-in real models, in one place: where each comes from, its input
 * size, class names, exact preprocessing and loader. Their packages are not
 * dependencies of fgvis; `load()` says in one line what to install when one
 * is missing.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RGBAImage } from '../render/image';
import { checkImage } from '../render/image';
import { loadModel, loadModelFromDisk, type LoadedModel, type ModelKind } from './load-model';
import { NSFWJS_INSTALL, nsfwjsIOHandler } from './nsfwjs-bundle';
import { packageFile } from './resolve-package';

/** A built-in model: metadata, preprocessing and loader. */
export interface BuiltinModel {
  /** Registry name, e.g. `nsfw-mobilenet-v2-graph`. */
  readonly name: string;
  /** One line: what the model is and where it comes from. */
  readonly description: string;
  /** The npm package that ships the weights, e.g. `nsfwjs`. */
  readonly package: string;
  /** The command that installs that package, e.g. `npm install nsfwjs@4.3.0`. */
  readonly install: string;
  /** Model input size [height, width, channels]. */
  readonly inputSize: readonly [number, number, number];
  /** Class names, in output order. */
  readonly classes: readonly string[];
  /** `graph` (GraphModel) or `layers` (LayersModel). */
  readonly kind: ModelKind;
  /**
   * Turn a photo into the model's input, exactly as the model's own library
   * does (resize, channels, value range): a new `[1, H, W, C]` float32 tensor
   * the caller owns (dispose it). The alpha channel is ignored.
   */
  preprocess(image: RGBAImage): tf.Tensor4D;
  /** Load the model (no network access); the caller owns it (`model.dispose()`). */
  load(): Promise<LoadedModel>;
}

/** The nsfwjs class names, in output order. */
export const NSFW_CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] as const;

/** The class names of the `emotion` model, in output order (human's grey-input annotation list). */
export const EMOTION_CLASSES = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;

const HUMAN_INSTALL = 'npm install @vladmandic/human@3.3.6';

/** RGB of an RGBA image as a float32 [1, H, W, 3] tensor with values 0..255 (alpha dropped, as `tf.browser.fromPixels` does). */
function rgbTensor(fn: string, image: RGBAImage): tf.Tensor4D {
  checkImage(fn, 'image', image);
  const { width, height, data } = image;
  const rgb = new Float32Array(width * height * 3);
  for (let p = 0, s = 0; p < rgb.length; p += 3, s += 4) {
    rgb[p] = data[s];
    rgb[p + 1] = data[s + 1];
    rgb[p + 2] = data[s + 2];
  }
  return tf.tensor4d(rgb, [1, height, width, 3], 'float32');
}

/**
 * nsfwjs's `NSFWJS.infer`: `fromPixels` (RGB), `/ 255`, then, unless the image
 * already is `size` x `size`, `resizeBilinear(..., [size, size], alignCorners = true)`.
 */
function nsfwjsPreprocess(size: number): (image: RGBAImage) => tf.Tensor4D {
  return (image) =>
    tf.tidy(() => {
      const x = tf.div(rgbTensor('preprocess', image), 255) as tf.Tensor4D;
      if (image.height === size && image.width === size) return x;
      return tf.image.resizeBilinear(x, [size, size], true);
    });
}

/**
 * human's `emotion.predict` for grey-input models: the face crop in [0, 1],
 * `resizeBilinear(..., [64, 64], alignCorners = false)`, grey = RGB . (0.2989,
 * 0.5870, 0.1140), then `(grey - 0.5) * 2` (range [-1, 1]).
 */
function emotionPreprocess(image: RGBAImage): tf.Tensor4D {
  return tf.tidy(() => {
    const x = tf.div(rgbTensor('preprocess', image), 255) as tf.Tensor4D;
    const resized = tf.image.resizeBilinear(x, [64, 64], false);
    const grey = tf.sum(tf.mul(resized, tf.tensor1d([0.2989, 0.587, 0.114])), 3, true);
    return tf.mul(tf.sub(grey, 0.5), 2) as tf.Tensor4D;
  });
}

/** The built-in models; the first is the default. */
export const BUILTIN_MODELS: readonly BuiltinModel[] = [
  {
    name: 'nsfw-mobilenet-v2-graph',
    description:
      'nsfwjs MobileNetV2Mid: MobileNetV2 GraphModel (fused conv ops, residual adds), 224x224 RGB in [0,1], 5 content classes',
    package: 'nsfwjs',
    install: NSFWJS_INSTALL,
    inputSize: [224, 224, 3],
    classes: NSFW_CLASSES,
    kind: 'graph',
    preprocess: nsfwjsPreprocess(224),
    load: () => loadModel(nsfwjsIOHandler('mobilenet_v2_mid'), 'graph'),
  },
  {
    name: 'nsfw-mobilenet-v2',
    description: 'nsfwjs MobileNetV2 (default nsfwjs model): Keras LayersModel, 224x224 RGB/255, 5 content classes; needs @tensorflow/tfjs-layers',
    package: 'nsfwjs',
    install: NSFWJS_INSTALL,
    inputSize: [224, 224, 3],
    classes: NSFW_CLASSES,
    kind: 'layers',
    preprocess: nsfwjsPreprocess(224),
    load: () => loadModel(nsfwjsIOHandler('mobilenet_v2'), 'layers'),
  },
  {
    name: 'emotion',
    description:
      '@vladmandic/human emotion (oarriaga mini-Xception): GraphModel, 64x64 grey in [-1,1], 7 facial expressions; give it a face crop',
    package: '@vladmandic/human',
    install: HUMAN_INSTALL,
    inputSize: [64, 64, 1],
    classes: EMOTION_CLASSES,
    kind: 'graph',
    preprocess: emotionPreprocess,
    load: () => loadModelFromDisk(packageFile('@vladmandic/human', 'models/emotion.json', HUMAN_INSTALL), { kind: 'graph' }),
  },
];

/** Name of the default built-in model. */
export const DEFAULT_BUILTIN_MODEL = BUILTIN_MODELS[0].name;

/** Is `name` the name of a built-in model? */
export function isBuiltinModel(name: string): boolean {
  return BUILTIN_MODELS.some((m) => m.name === name);
}

/** The built-in model called `name`; throws an error listing the names otherwise. */
export function builtinModel(name: string): BuiltinModel {
  const model = BUILTIN_MODELS.find((m) => m.name === name);
  if (model === undefined) {
    throw new Error(
      `Error in builtinModel: name must be one of ${BUILTIN_MODELS.map((m) => m.name).join(', ')}, got ${JSON.stringify(name)}`,
    );
  }
  return model;
}
