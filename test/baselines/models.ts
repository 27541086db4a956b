// Small models with known answers for the baseline tests: every weight is
// chosen by hand or from a seeded generator, so each test knows what the
// attribution must be.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { uniformValues } from '../fixtures/graph-model';
import { biasAdd, conv2d, loadGraphFixture, matMul, mean, op, placeholder, type GraphWeight } from '../fixtures/graph-builder';

/** Host values of a tensor (tests only). */
export const values = (t: tf.Tensor): Float32Array => t.dataSync() as Float32Array;

/** A seeded `[...shape]` tensor uniform in [lo, hi). */
export function seeded(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = uniformValues(n, 1, seed).map((v) => lo + ((v + 1) / 2) * (hi - lo));
  return tf.tensor(u, shape);
}

/**
 * A linear two-class model on `[B,H,W,C]`: logits `z_k = sum(w_k * x)`,
 * output softmax(z) (`output: 'probabilities'`) or z (`'logits'`). Handles batches.
 */
export function linearModel(w0: tf.Tensor, w1: tf.Tensor, output: 'probabilities' | 'logits' = 'probabilities') {
  const n = w0.size;
  const wm = tf.keep(tf.stack([tf.reshape(w0, [n]), tf.reshape(w1, [n])], 1) as tf.Tensor2D); // [n, 2]
  const f = (x: tf.Tensor4D) =>
    tf.tidy(() => {
      const z = tf.matMul(tf.reshape(x, [x.shape[0], n]), wm);
      return output === 'logits' ? z : tf.softmax(z);
    });
  return { f, dispose: () => wm.dispose() };
}

/**
 * A smooth nonlinear three-class model on `[B,4,4,3]`: logits from
 * `tanh(x * a)` and `x^2` with seeded weights, softmax output. Handles batches.
 */
export function nonlinearModel() {
  const a = tf.keep(seeded([1, 4, 4, 3], 11, 0.5, 2));
  const w = tf.keep(seeded([48, 3], 12) as tf.Tensor2D);
  const v = tf.keep(seeded([48, 3], 13, -0.5, 0.5) as tf.Tensor2D);
  const f = (x: tf.Tensor4D) =>
    tf.tidy(() => {
      const b = x.shape[0];
      const t = tf.reshape(tf.tanh(tf.mul(x, a)), [b, 48]);
      const q = tf.reshape(tf.square(x), [b, 48]);
      return tf.softmax(tf.add(tf.matMul(t, w), tf.matMul(q, v)));
    });
  return { f, dispose: () => tf.dispose([a, w, v]) };
}

/** `[1,S,S,3]` zeros with a blob of ones at rows/cols [r0, r0 + size). */
export function blobImage(S: number, r0: number, c0: number, size: number, background = 0): tf.Tensor4D {
  const data = new Float32Array(S * S * 3).fill(background);
  for (let y = r0; y < r0 + size; y++) for (let x = c0; x < c0 + size; x++) for (let c = 0; c < 3; c++) data[(y * S + x) * 3 + c] = 1;
  return tf.tensor4d(data, [1, S, S, 3]);
}

/** Blob detector weights: a 3x3 conv summing all channels (1/27 each), bias -0.5; fires only on the blob. */
export const BLOB_KERNEL = () => tf.fill([3, 3, 3, 1], 1 / 27) as tf.Tensor4D;
export const BLOB_BIAS = -0.5;

/**
 * A function model and its Grad-CAM split: feature map `A = relu(conv(x) + b)`
 * `[1,S,S,1]` (fires only on the blob), logits `[0, 4 * mean(A)]`, softmax.
 */
export function blobFunctionModel() {
  const k = tf.keep(BLOB_KERNEL());
  const features = (x: tf.Tensor4D) => tf.tidy(() => tf.relu(tf.add(tf.conv2d(x, k, 1, 'same'), BLOB_BIAS)) as tf.Tensor4D);
  const head = (a: tf.Tensor4D) =>
    tf.tidy(() => {
      const m = tf.reshape(tf.mean(a, [1, 2, 3]), [-1, 1]);
      return tf.softmax(tf.concat([tf.zerosLike(m), tf.mul(m, 4)], 1));
    });
  const f = (x: tf.Tensor4D) => tf.tidy(() => head(features(x)));
  return { f, split: { features, head }, dispose: () => k.dispose() };
}

/**
 * A Sequential LayersModel `[S,S,3]`: conv1 (blob detector, relu) -> conv2
 * (1x1, weight 1, relu) -> global average pooling -> dense 'logits' ([0, 4 * mean]).
 * The last 4D layer is conv2.
 */
export function blobSequential(S: number): tfl.Sequential {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [S, S, 3], filters: 1, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1' }),
      tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'relu', name: 'conv2' }),
      tfl.layers.globalAveragePooling2d({ name: 'pool' }),
      tfl.layers.dense({ units: 2, name: 'logits' }),
    ],
  });
  model.getLayer('conv1').setWeights([BLOB_KERNEL(), tf.tensor1d([BLOB_BIAS])]);
  model.getLayer('conv2').setWeights([tf.ones([1, 1, 1, 1]), tf.zeros([1])]);
  model.getLayer('logits').setWeights([tf.tensor2d([[0, 4]]), tf.zeros([2])]);
  return model;
}

/**
 * A functional LayersModel with a skip connection: conv1 (blob detector) ->
 * conv2 (1x1) -> add(conv1, conv2) 'sum' -> flatten -> dense (mean of the
 * map, times 4, as class 1) -> softmax. The last 4D tensor is 'sum'.
 */
export function blobFunctional(S: number): tfl.LayersModel {
  const input = tfl.input({ shape: [S, S, 3] });
  const c1 = tfl.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1' }).apply(input) as tfl.SymbolicTensor;
  const c2 = tfl.layers.conv2d({ filters: 1, kernelSize: 1, name: 'conv2' }).apply(c1) as tfl.SymbolicTensor;
  const sum = tfl.layers.add({ name: 'sum' }).apply([c1, c2]) as tfl.SymbolicTensor;
  const flat = tfl.layers.flatten({ name: 'flat' }).apply(sum) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, activation: 'softmax', name: 'probs' }).apply(flat) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  model.getLayer('conv1').setWeights([BLOB_KERNEL(), tf.tensor1d([BLOB_BIAS])]);
  model.getLayer('conv2').setWeights([tf.fill([1, 1, 1, 1], 0.5), tf.zeros([1])]);
  const n = S * S;
  const wd = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) wd[i * 2 + 1] = 4 / n;
  model.getLayer('probs').setWeights([tf.tensor2d(wd, [n, 2]), tf.zeros([2])]);
  return model;
}

// ---------------------------------------------------------------------------
// A hand-written GraphModel with the blob detector

/**
 * A GraphModel `[1,S,S,3]`: Conv2D (blob detector) -> BiasAdd -> Relu 'features'
 * -> Mean over H, W 'pool' -> MatMul 'logits' ([0, 4 * mean]) -> Softmax 'probs'.
 */
export async function blobGraphModel(S: number): Promise<GraphModel> {
  const weights: GraphWeight[] = [
    { name: 'k', shape: [3, 3, 3, 1], dtype: 'float32', values: new Float32Array(27).fill(1 / 27) },
    { name: 'b', shape: [1], dtype: 'float32', values: [BLOB_BIAS] },
    { name: 'axes', shape: [2], dtype: 'int32', values: [1, 2] },
    { name: 'wd', shape: [1, 2], dtype: 'float32', values: [0, 4] },
  ];
  return loadGraphFixture(
    [
      placeholder('input', [-1, S, S, 3]),
      conv2d('conv', 'input', 'k'),
      biasAdd('biased', 'conv', 'b'),
      op('features', 'Relu', ['biased']),
      mean('pool', 'features', 'axes'),
      matMul('logits', 'pool', 'wd'),
      op('probs', 'Softmax', ['logits']),
    ],
    weights,
  );
}

/** Fraction of a `[H,W]` map's mass in rows [0, H/2) x cols [0, W/2). */
export function topLeftMass(map: tf.Tensor2D): number {
  const [H, W] = map.shape;
  const v = values(map);
  let inside = 0;
  let total = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      total += v[y * W + x]!;
      if (y < H / 2 && x < W / 2) inside += v[y * W + x]!;
    }
  }
  return total > 0 ? inside / total : 0;
}

/** Row and column of a `[H,W]` map's maximum. */
export function argmax2d(map: tf.Tensor2D): [number, number] {
  const [, W] = map.shape;
  const v = values(map);
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return [Math.floor(best / W), best % W];
}
