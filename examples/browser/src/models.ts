/**
 * The demo's built-in models (served from installed packages by the
 * fgvis-assets Vite plugin), their class names and their exact preprocessing,
 * mirroring fgvis's Node registry (`src/node/builtin-models.ts`), plus models
 * loaded from a `model.json` URL.
 */
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import type { RGBAImage } from '../../../src/render';
import { checkedModelHandler } from './model-url';
import { tf } from './tfjs-setup';

/** How a model's input values map back to a displayable picture. */
export interface ValueRange {
  min: number;
  max: number;
}

/** A model the demo can explain. */
export interface DemoModel {
  /** Menu value. */
  id: string;
  /** Menu label. */
  label: string;
  /** One line for the page. */
  description: string;
  /** Model input [height, width, channels]. */
  inputSize: [number, number, number];
  /** Class names in output order. */
  classes: string[];
  /** Range of the model's input values (for showing the explanation). */
  range: ValueRange;
  /** Whether the model expects a face crop (the page then suggests one). */
  wantsFace: boolean;
  /** The model's own preprocessing: RGBA picture to a new [1,H,W,C] float32 tensor. */
  preprocess(image: RGBAImage): tf.Tensor4D;
  /** Load the model on the active backend. */
  load(): Promise<GraphModel | LayersModel>;
}

/** RGB of an RGBA image as float32 [1,H,W,3] in 0..255 (alpha dropped, as `tf.browser.fromPixels`). */
export function rgbTensor(image: RGBAImage): tf.Tensor4D {
  const { width, height, data } = image;
  const rgb = new Float32Array(width * height * 3);
  for (let p = 0, s = 0; p < rgb.length; p += 3, s += 4) {
    rgb[p] = data[s]!;
    rgb[p + 1] = data[s + 1]!;
    rgb[p + 2] = data[s + 2]!;
  }
  return tf.tensor4d(rgb, [1, height, width, 3], 'float32');
}

/** A URL relative to the page (works under any base path of a static build). */
export const asset = (path: string): string => new URL(path, document.baseURI).href;

/** nsfwjs's `NSFWJS.infer`: RGB / 255, then resizeBilinear to size x size with alignCorners = true (unless already that size). */
function nsfwjsPreprocess(size: number) {
  return (image: RGBAImage): tf.Tensor4D =>
    tf.tidy(() => {
      const x = tf.div(rgbTensor(image), 255) as tf.Tensor4D;
      if (image.width === size && image.height === size) return x;
      return tf.image.resizeBilinear(x, [size, size], true);
    });
}

/** human's emotion preprocessing: [0,1], resizeBilinear 64x64 (alignCorners = false), grey = RGB . (0.2989, 0.587, 0.114), then (g - 0.5) * 2. */
function emotionPreprocess(image: RGBAImage): tf.Tensor4D {
  return tf.tidy(() => {
    const x = tf.div(rgbTensor(image), 255) as tf.Tensor4D;
    const resized = tf.image.resizeBilinear(x, [64, 64], false);
    const grey = tf.sum(tf.mul(resized, tf.tensor1d([0.2989, 0.587, 0.114])), 3, true);
    return tf.mul(tf.sub(grey, 0.5), 2) as tf.Tensor4D;
  });
}

export const BUILTIN_MODELS: DemoModel[] = [
  {
    id: 'emotion',
    label: 'Facial expression (mini-Xception, 64×64 grey)',
    description: "@vladmandic/human's emotion model: 7 facial expressions from a 64×64 grey face crop; fast on every backend.",
    inputSize: [64, 64, 1],
    classes: ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'],
    range: { min: -1, max: 1 },
    wantsFace: true,
    preprocess: emotionPreprocess,
    load: () => loadGraphModel(asset('models/emotion/model.json')),
  },
  {
    id: 'nsfw-mobilenet-v2-graph',
    label: 'Content classes (MobileNetV2, 224×224 RGB)',
    description:
      "nsfwjs's MobileNetV2Mid GraphModel (fused convolutions, residual adds): 5 content classes from a 224×224 RGB picture. Slower: about 20 forward passes a step.",
    inputSize: [224, 224, 3],
    classes: ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'],
    range: { min: 0, max: 1 },
    wantsFace: false,
    preprocess: nsfwjsPreprocess(224),
    load: () => loadGraphModel(asset('models/nsfw-mobilenet-v2-graph/model.json')),
  },
];

/** Input value ranges offered for a model loaded from a URL. */
export const URL_RANGES: Record<string, ValueRange> = {
  '0..1': { min: 0, max: 1 },
  '-1..1': { min: -1, max: 1 },
  '0..255': { min: 0, max: 255 },
};

/**
 * A model from a `model.json` URL (GraphModel, else LayersModel), loaded as a
 * stranger's file (`model-url.ts`: weight files in the model's folder, sizes
 * checked against the manifest before and while downloading). Its input
 * size comes from the model's input shape; the picture is resized bilinearly
 * and mapped to `range` (grey when the model takes one channel).
 */
export async function urlModel(url: string, range: ValueRange): Promise<{ model: DemoModel; loaded: GraphModel | LayersModel }> {
  const artifacts = await checkedModelHandler(url).load!();
  const topology = artifacts.modelTopology as { class_name?: string } | undefined;
  const isLayers = artifacts.format === 'layers-model' || topology?.class_name !== undefined;
  const fromMemory = { load: async () => artifacts };
  const loaded = isLayers ? await loadLayersModel(fromMemory) : await loadGraphModel(fromMemory);
  const shape = isLayers ? (loaded as LayersModel).inputs[0]!.shape : (loaded as GraphModel).inputs[0]!.shape;
  const [h, w, c] = [shape?.[1], shape?.[2], shape?.[3]];
  if (!(h && h > 0 && w && w > 0 && (c === 1 || c === 3))) {
    loaded.dispose();
    throw new Error(`the model's input shape is [${shape?.join(', ')}]: the demo needs a fixed [1, H, W, 1 or 3] image input`);
  }
  const numClasses = tf.tidy(() => {
    const y = (loaded as GraphModel).predict(tf.zeros([1, h, w, c])) as tf.Tensor | tf.Tensor[];
    return (Array.isArray(y) ? y[0]! : y).shape.at(-1) ?? 0;
  });
  const preprocess = (image: RGBAImage): tf.Tensor4D =>
    tf.tidy(() => {
      let x: tf.Tensor4D = tf.image.resizeBilinear(tf.div(rgbTensor(image), 255) as tf.Tensor4D, [h, w], false);
      if (c === 1) x = tf.sum(tf.mul(x, tf.tensor1d([0.2989, 0.587, 0.114])), 3, true);
      return tf.add(tf.mul(x, range.max - range.min), range.min) as tf.Tensor4D;
    });
  const model: DemoModel = {
    id: 'url',
    label: url,
    description: `${isLayers ? 'LayersModel' : 'GraphModel'} from ${url}: input ${h}×${w}×${c} in ${range.min}..${range.max}, ${numClasses} outputs`,
    inputSize: [h, w, c],
    classes: Array.from({ length: numClasses }, (_, i) => `class ${i}`),
    range,
    wantsFace: false,
    preprocess,
    load: async () => (isLayers ? loadLayersModel(checkedModelHandler(url)) : loadGraphModel(checkedModelHandler(url))),
  };
  return { model, loaded };
}

/** Suggested crops (x, y, width, height) of the bundled photos for face models. */
export const FACE_CROPS: Record<string, [number, number, number, number]> = {
  // Eileen Collins' face; the same crop as the Node tests (test/node/photos.ts).
  'astronaut.png': [160, 50, 130, 140],
};

/** The bundled photos (served from assets/photos). */
export const PHOTOS = ['astronaut.png', 'grace_hopper.jpg', 'chelsea.png', 'coffee.png', 'rocket.jpg'];
