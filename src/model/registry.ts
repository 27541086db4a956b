/**
 * The built-in real models, in one place (browser-safe: no `node:*`): for
 * each, where its files are in which npm package, its input size, channels,
 * value range and class names, its exact preprocessing (RGBA image to input
 * tensor), and how its files' bytes become tfjs model artifacts. `fgvis/node`
 * (`builtinModel()`), the CLI and the browser demo all read this table;
 * `fgvis/node` only adds finding the package on disk.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RGBAImage } from '../render/image';
import { checkImage } from '../render/image';
import { closestName, describe, FgvisArgumentError, FgvisModelError } from '../util/errors';
import { concatBytes, decodeNsfwjsModelJSON, decodeNsfwjsShard, NSFWJS_INSTALL, NSFWJS_VERSION, nsfwjsShardFile } from './nsfwjs-shards';

/** Where a model's files are: an npm package and the files in it. */
export interface ModelSource {
  /** The npm package that ships the weights, e.g. `nsfwjs`. */
  readonly package: string;
  /** The package version fgvis was written against. */
  readonly version: string;
  /** The command that installs it, e.g. `npm install nsfwjs@4.3.0`. */
  readonly install: string;
  /**
   * How the files are stored: `'tfjs'`, a plain `model.json` and its weight
   * files; `'nsfwjs-bundle'`, nsfwjs's JS modules (see `nsfwjs-shards.ts`).
   */
  readonly format: 'tfjs' | 'nsfwjs-bundle';
  /** The files, relative to the package root, `/`-separated: the model file first, then the weights. */
  readonly files: readonly string[];
}

/** A built-in model: what it is, where it comes from, how to feed it. */
export interface ModelSpec {
  /** Registry name, e.g. `nsfw-mobilenet-v2-graph`. */
  readonly name: string;
  /** One line: what the model is and where it comes from. */
  readonly description: string;
  /** `graph` (GraphModel) or `layers` (LayersModel). */
  readonly kind: 'graph' | 'layers';
  /** The package and files. */
  readonly source: ModelSource;
  /** Model input size [height, width, channels]. */
  readonly inputSize: readonly [number, number, number];
  /** The range of the input values [min, max] (to show an input or an explanation as a picture). */
  readonly range: readonly [number, number];
  /** Class names, in output order. */
  readonly classes: readonly string[];
  /**
   * The input colour (one value per channel) that the model's own input
   * normalisation maps to zero: the paper's reference r = 0 taken after the
   * normalisation. Pass it as `explain()`'s `reference` (the CLI's
   * `--reference model`).
   */
  readonly normalizedZero: readonly number[];
  /** Whether the model expects a face crop rather than a whole photo. */
  readonly wantsFace: boolean;
  /**
   * Turn a photo into the model's input, exactly as the model's own library
   * does (resize, channels, value range): a new `[1, H, W, C]` float32 tensor
   * the caller owns (dispose it). The alpha channel is ignored.
   */
  preprocess(image: RGBAImage): tf.Tensor4D;
}

/** The nsfwjs class names, in output order. */
export const NSFW_CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] as const;

/** The class names of the `emotion` model, in output order (human's grey-input annotation list). */
export const EMOTION_CLASSES = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;

/** The weights of R, G and B in a grey value (ITU-R BT.601, as human and most converters use). */
export const GREY_WEIGHTS = [0.2989, 0.587, 0.114] as const;

/** RGB of an RGBA image as a float32 [1, H, W, 3] tensor with values 0..255 (alpha dropped, as `tf.browser.fromPixels` does). */
export function rgbTensor(image: RGBAImage, fn = 'preprocess'): tf.Tensor4D {
  checkImage(fn, 'image', image);
  const { width, height, data } = image;
  const rgb = new Float32Array(width * height * 3);
  for (let p = 0, s = 0; p < rgb.length; p += 3, s += 4) {
    rgb[p] = data[s]!;
    rgb[p + 1] = data[s + 1]!;
    rgb[p + 2] = data[s + 2]!;
  }
  return tf.tensor4d(rgb, [1, height, width, 3], 'float32');
}

/** One grey channel from RGB `[N, H, W, 3]`: the sum of the channels weighted by {@link GREY_WEIGHTS}. */
export function greyscale(rgb: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sum(tf.mul(rgb, tf.tensor1d([...GREY_WEIGHTS])), 3, true) as tf.Tensor4D);
}

/**
 * nsfwjs's `NSFWJS.infer`: `fromPixels` (RGB), `/ 255`, then, unless the image
 * already is `size` x `size`, `resizeBilinear(..., [size, size], alignCorners = true)`.
 */
function nsfwjsPreprocess(size: number): (image: RGBAImage) => tf.Tensor4D {
  return (image) =>
    tf.tidy(() => {
      const x = tf.div(rgbTensor(image), 255) as tf.Tensor4D;
      if (image.height === size && image.width === size) return x;
      return tf.image.resizeBilinear(x, [size, size], true);
    });
}

/**
 * human's `emotion.predict` for grey-input models: the face crop in [0, 1],
 * `resizeBilinear(..., [64, 64], alignCorners = false)`, {@link greyscale},
 * then `(grey - 0.5) * 2` (range [-1, 1]).
 */
function emotionPreprocess(image: RGBAImage): tf.Tensor4D {
  return tf.tidy(() => {
    const x = tf.div(rgbTensor(image), 255) as tf.Tensor4D;
    const resized = tf.image.resizeBilinear(x, [64, 64], false);
    return tf.mul(tf.sub(greyscale(resized), 0.5), 2) as tf.Tensor4D;
  });
}

/** Options of {@link imagePreprocessor}. */
export interface ImagePreprocessorOptions {
  /** Input height and width. */
  height: number;
  width: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA). */
  channels: number;
  /** The value range [min, max] that 0..255 maps to. */
  range: readonly [number, number];
}

/**
 * Preprocessing for a model that is not built in (a `model.json` with
 * `--size`, `--range`): the channels it takes (grey by {@link GREY_WEIGHTS}),
 * a bilinear resize when the size differs, values 0..255 mapped linearly to
 * `range`. The CLI and the browser demo use it for a user's model.
 */
export function imagePreprocessor(o: ImagePreprocessorOptions): (image: RGBAImage) => tf.Tensor4D {
  const { height, width, channels } = o;
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new FgvisArgumentError('imagePreprocessor', 'options.channels', `must be 1, 3 or 4, got ${describe(channels)}`);
  }
  const [lo, hi] = o.range;
  return (image) =>
    tf.tidy(() => {
      checkImage('preprocess', 'image', image);
      const rgba = tf.tensor4d(Float32Array.from(image.data), [1, image.height, image.width, 4]);
      let x: tf.Tensor4D;
      if (channels === 4) x = rgba;
      else {
        const rgb = tf.slice(rgba, [0, 0, 0, 0], [1, image.height, image.width, 3]);
        x = channels === 3 ? rgb : greyscale(rgb);
      }
      if (image.height !== height || image.width !== width) x = tf.image.resizeBilinear(x, [height, width]);
      return tf.add(tf.mul(x, (hi - lo) / 255), lo) as tf.Tensor4D;
    });
}

const HUMAN_VERSION = '3.3.6';

/** nsfwjs's bundled model `folder` with its `shards` shard names. */
function nsfwjsSource(folder: string, shards: readonly string[]): ModelSource {
  const dir = `dist/models/${folder}`;
  return {
    package: 'nsfwjs',
    version: NSFWJS_VERSION,
    install: NSFWJS_INSTALL,
    format: 'nsfwjs-bundle',
    files: [`${dir}/model.min.js`, ...shards.map((s) => `${dir}/${nsfwjsShardFile(s)}`)],
  };
}

/** The built-in models; the first is the default. */
export const MODEL_REGISTRY: readonly ModelSpec[] = Object.freeze([
  {
    name: 'nsfw-mobilenet-v2-graph',
    description:
      'nsfwjs MobileNetV2Mid: MobileNetV2 GraphModel (fused conv ops, residual adds), 224x224 RGB in [0,1], 5 content classes',
    kind: 'graph',
    source: nsfwjsSource('mobilenet_v2_mid', ['group1-shard1of2', 'group1-shard2of2']),
    inputSize: [224, 224, 3],
    range: [0, 1],
    classes: NSFW_CLASSES,
    // The graph maps [0, 1] to [-1, 1] itself (TF Hub's hub_input: x * 2 - 1): mid grey is its zero.
    normalizedZero: [0.5, 0.5, 0.5],
    wantsFace: false,
    preprocess: nsfwjsPreprocess(224),
  },
  {
    name: 'nsfw-mobilenet-v2',
    description: 'nsfwjs MobileNetV2 (default nsfwjs model): Keras LayersModel, 224x224 RGB/255, 5 content classes; needs @tensorflow/tfjs-layers',
    kind: 'layers',
    source: nsfwjsSource('mobilenet_v2', ['group1-shard1of1']),
    inputSize: [224, 224, 3],
    range: [0, 1],
    classes: NSFW_CLASSES,
    // Its first layer takes the [0, 1] input as it is (no normalisation layer): black is its zero.
    normalizedZero: [0, 0, 0],
    wantsFace: false,
    preprocess: nsfwjsPreprocess(224),
  },
  {
    name: 'emotion',
    description:
      '@vladmandic/human emotion (oarriaga mini-Xception): GraphModel, 64x64 grey in [-1,1], 7 facial expressions; give it a face crop',
    kind: 'graph',
    source: {
      package: '@vladmandic/human',
      version: HUMAN_VERSION,
      install: `npm install @vladmandic/human@${HUMAN_VERSION}`,
      format: 'tfjs',
      files: ['models/emotion.json', 'models/emotion.bin'],
    },
    inputSize: [64, 64, 1],
    range: [-1, 1],
    classes: EMOTION_CLASSES,
    // Fed in [-1, 1] (grey 0.5 maps to 0): its zero is mid grey.
    normalizedZero: [0],
    wantsFace: true,
    preprocess: emotionPreprocess,
  },
] satisfies ModelSpec[]);

/** Name of the default built-in model. */
export const DEFAULT_MODEL_NAME = MODEL_REGISTRY[0]!.name;

/** The built-in model called `name`; throws an error listing the names (with a "did you mean") otherwise. */
export function modelSpec(name: string, fn = 'modelSpec'): ModelSpec {
  const spec = MODEL_REGISTRY.find((m) => m.name === name);
  if (spec === undefined) {
    const names = MODEL_REGISTRY.map((m) => m.name);
    const hint = typeof name === 'string' ? closestName(name, names) : undefined;
    throw new FgvisArgumentError(
      fn,
      'name',
      `must be one of ${names.join(', ')}, got ${describe(name)}${hint === undefined ? '' : ` (did you mean '${hint}'?)`}`,
    );
  }
  return spec;
}

/** Reads a file of a model's package (path relative to the package root, `/`-separated). */
export type PackageFileReader = (file: string) => Uint8Array | Promise<Uint8Array>;

/** The last path component. */
const baseName = (file: string) => file.slice(file.lastIndexOf('/') + 1);

/**
 * The model as plain tfjs files: for each of `spec.source.files`, the name it
 * has next to a `model.json` (the model file becomes `model.json`, an nsfwjs
 * shard module `group1-shard1of2`) and the package file it comes from. The
 * browser demo serves these.
 */
export function plainModelFiles(spec: ModelSpec): Array<{ name: string; file: string }> {
  const [model, ...weights] = spec.source.files;
  const shardName = (f: string) => (spec.source.format === 'nsfwjs-bundle' ? baseName(f).replace(/\.min\.js$/, '') : baseName(f));
  return [{ name: 'model.json', file: model! }, ...weights.map((file) => ({ name: shardName(file), file }))];
}

/** The contents of one plain tfjs file (see {@link plainModelFiles}) from its package file's bytes. */
export function decodeModelFile(spec: ModelSpec, file: string, bytes: Uint8Array): Uint8Array | string {
  if (spec.source.format === 'tfjs') return bytes;
  if (file === spec.source.files[0]) return JSON.stringify(decodeNsfwjsModelJSON(bytes, file));
  return decodeNsfwjsShard(bytes, file);
}

/**
 * The model's artifacts (topology, weight specs, weight bytes) from its
 * package files, read with `read`; load them with tfjs's
 * `io.fromMemory` / an IOHandler. The weight files are the ones the
 * manifest names (next to the model file).
 */
export async function modelArtifacts(spec: ModelSpec, read: PackageFileReader): Promise<tf.io.ModelArtifacts> {
  const [modelFile] = spec.source.files;
  const dir = modelFile!.slice(0, modelFile!.lastIndexOf('/') + 1);
  const bytes = await read(modelFile!);
  const nsfwjs = spec.source.format === 'nsfwjs-bundle';
  let json: tf.io.ModelJSON;
  try {
    json = nsfwjs ? decodeNsfwjsModelJSON(bytes, modelFile) : (JSON.parse(new TextDecoder().decode(bytes)) as tf.io.ModelJSON);
  } catch (e) {
    if (e instanceof FgvisModelError) throw e;
    throw new FgvisModelError('modelArtifacts', `${modelFile} is not a tfjs model.json (${(e as Error).message})`, { cause: e });
  }
  const shards: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    for (const path of group.paths) {
      const file = `${dir}${nsfwjs ? nsfwjsShardFile(path) : path}`;
      const data = await read(file);
      shards.push(nsfwjs ? decodeNsfwjsShard(data, file) : data);
    }
  }
  const weightData = concatBytes(shards);
  return tf.io.getModelArtifactsForJSONSync(json, tf.io.getWeightSpecs(json.weightsManifest), weightData.buffer as ArrayBuffer);
}
