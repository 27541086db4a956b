/**
 * The real models and photos the evaluation and the defaults study run on:
 * loading, preprocessing (with face crops for the emotion model) and the
 * (model, photo, class) cases. Shared by `main.ts` and `defaults.ts`.
 */
import '@tensorflow/tfjs-layers'; // registers the gradients (and LayersModel)
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { adaptModel, EXPLAIN_DEFAULTS, makeReference, type ExplainableModel } from '../../src';
import { builtinModel, readImage, type BuiltinModel } from '../../src/node';
import { crop, type RGBAImage } from '../../src/render';

/** Switch to the wasm backend (the evaluation's backend: fast on CPU, deterministic). */
export async function useWasm(): Promise<void> {
  if (!(await tf.setBackend('wasm'))) throw new Error('could not initialise the tfjs wasm backend');
  await tf.ready();
}

/** A photo as a model sees it: the file, an optional crop, the preprocessed input. */
export interface PhotoSpec {
  /** Short label, e.g. `coffee` or `astronaut-face`. */
  label: string;
  /** File under assets/photos. */
  file: string;
  /** Crop `[x, y, width, height]` in the photo's pixels (face crops for the emotion model). */
  crop?: readonly [number, number, number, number];
}

export const PHOTOS: Record<string, PhotoSpec> = {
  coffee: { label: 'coffee', file: 'coffee.png' },
  chelsea: { label: 'chelsea', file: 'chelsea.png' },
  rocket: { label: 'rocket', file: 'rocket.jpg' },
  astronaut: { label: 'astronaut', file: 'astronaut.png' },
  grace: { label: 'grace', file: 'grace_hopper.jpg' },
  // Face crops for the emotion model (it expects a face): the README's astronaut
  // crop, a tight crop of Grace Hopper's face (eyebrows to chin) and a looser
  // one with her cap (the model's output depends strongly on the crop).
  'astronaut-face': { label: 'astronaut-face', file: 'astronaut.png', crop: [160, 50, 130, 140] },
  'grace-face': { label: 'grace-face', file: 'grace_hopper.jpg', crop: [170, 130, 200, 220] },
  'grace-cap': { label: 'grace-cap', file: 'grace_hopper.jpg', crop: [150, 60, 220, 240] },
};

const imageCache = new Map<string, RGBAImage>();

/** The photo (cropped) as an RGBA image. */
export async function photoImage(p: PhotoSpec): Promise<RGBAImage> {
  const key = p.label;
  let img = imageCache.get(key);
  if (!img) {
    img = await readImage(`assets/photos/${p.file}`);
    if (p.crop) img = crop(img, ...p.crop);
    imageCache.set(key, img);
  }
  return img;
}

/** A loaded built-in model. */
export interface LoadedCaseModel {
  name: string;
  spec: BuiltinModel;
  model: ExplainableModel;
  /** The model's input value range (for pictures; from the registry). */
  range: readonly [number, number];
  dispose(): void;
}

export async function loadCaseModel(name: string): Promise<LoadedCaseModel> {
  const spec = builtinModel(name);
  const model = await spec.load();
  return {
    name,
    spec,
    model,
    range: spec.range,
    dispose: () => void model.dispose(),
  };
}

/** The model's input for a photo (caller disposes). */
export async function inputFor(m: LoadedCaseModel, p: PhotoSpec): Promise<tf.Tensor4D> {
  return m.spec.preprocess(await photoImage(p));
}

/**
 * Softmax scores of the model on an input, on the all-zero (black for [0, 1] inputs) input, and on
 * explain()'s default reference (every value removed).
 */
export async function scoresOf(m: LoadedCaseModel, x: tf.Tensor4D): Promise<{ image: number[]; empty: number[]; removed: number[] }> {
  const s = await adaptModel(m.model, x);
  const a = tf.tidy(() => s.probs(x));
  const b = tf.tidy(() => s.probs(tf.zerosLike(x)));
  const c = tf.tidy(() => s.probs(makeReference(x, EXPLAIN_DEFAULTS.reference) ?? tf.zerosLike(x)));
  const out = { image: Array.from(await a.data()), empty: Array.from(await b.data()), removed: Array.from(await c.data()) };
  tf.dispose([a, b, c]);
  return out;
}

/** Index of the largest / smallest value. */
export const argmax = (v: readonly number[]) => v.reduce((b, x, i) => (x > v[b]! ? i : b), 0);
export const argmin = (v: readonly number[]) => v.reduce((b, x, i) => (x < v[b]! ? i : b), 0);

/** Seconds since `t0` (ms). */
export const since = (t0: number) => (performance.now() - t0) / 1000;

/** `tf.memory()` in one line. */
export function memoryLine(): string {
  const m = tf.memory();
  return `tensors ${m.numTensors}, buffers ${m.numDataBuffers}, ${(m.numBytes / 1e6).toFixed(1)} MB`;
}
