/**
 * The demo's models: the built-in ones from fgvis's registry
 * (`src/model/registry.ts`: class names, input size, value range, exact
 * preprocessing), served from installed packages by the fgvis-assets Vite
 * plugin, plus models loaded from a `model.json` URL.
 */
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { withLabels } from '../../../src/model/labels';
import { imagePreprocessor, modelSpec, type ModelSpec } from '../../../src/model/registry';
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
  inputSize: readonly [number, number, number];
  /** Class names in output order. */
  classes: readonly string[];
  /** Range of the model's input values (for showing the explanation). */
  range: ValueRange;
  /** Whether the model expects a face crop (the page then suggests one). */
  wantsFace: boolean;
  /** The model's own preprocessing: RGBA picture to a new [1,H,W,C] float32 tensor. */
  preprocess(image: RGBAImage): tf.Tensor4D;
  /** Load the model on the active backend (it carries its class names). */
  load(): Promise<GraphModel | LayersModel>;
}

/** A URL relative to the page (works under any base path of a static build). */
export const asset = (path: string): string => new URL(path, document.baseURI).href;

/** A built-in model of the registry, served by the fgvis-assets plugin under `models/<name>/`. */
function builtin(spec: ModelSpec, label: string, description: string): DemoModel {
  return {
    id: spec.name,
    label,
    description,
    inputSize: spec.inputSize,
    classes: spec.classes,
    range: { min: spec.range[0], max: spec.range[1] },
    wantsFace: spec.wantsFace,
    preprocess: spec.preprocess,
    load: async () => withLabels(await loadGraphModel(asset(`models/${spec.name}/model.json`)), spec.classes),
  };
}

/** The registry's GraphModels (the fgvis-assets plugin serves those). */
export const BUILTIN_MODELS: DemoModel[] = [
  builtin(
    modelSpec('emotion'),
    'Facial expression (mini-Xception, 64×64 grey)',
    "@vladmandic/human's emotion model: 7 facial expressions from a 64×64 grey face crop; fast on every backend.",
  ),
  builtin(
    modelSpec('nsfw-mobilenet-v2-graph'),
    'Content classes (MobileNetV2, 224×224 RGB)',
    "nsfwjs's MobileNetV2Mid GraphModel (fused convolutions, residual adds): 5 content classes from a 224×224 RGB picture. Slower: about 20 forward passes a step.",
  ),
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
  const preprocess = imagePreprocessor({ height: h, width: w, channels: c, range: [range.min, range.max] });
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
