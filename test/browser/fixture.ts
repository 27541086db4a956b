/**
 * A small deterministic problem, run both in the browser (every backend) and
 * in Node (cpu, the reference): a function model with fixed weights built from
 * fused ops (conv + Relu, depthwise conv + Relu6, linear 1x1 conv + LeakyRelu,
 * dense), a fixed input, and fixed explain() options (SGD, fixed lambda, fixed
 * steps, no early stopping). Imports only tfjs-core, so the same code runs on
 * either side with that side's copy of tfjs.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Input shape of the fixture model. */
export const FIXTURE_SHAPE = [1, 12, 12, 3] as const;

/** Deterministic values in [-amp, amp]. */
function wave(n: number, seed: number, amp: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amp * Math.sin(0.731 * i + seed) * Math.cos(0.173 * i * seed + 1);
  return out;
}

/** The fixture's weights (create inside the active backend; dispose with `disposeFixture`). */
export interface Fixture {
  model: (x: tf.Tensor4D) => tf.Tensor2D;
  input: tf.Tensor4D;
  dispose(): void;
}

/** Build the fixture model and input on the active backend. */
export function createFixture(): Fixture {
  const w1 = tf.tensor4d(wave(3 * 3 * 3 * 6, 1, 0.6), [3, 3, 3, 6]);
  const b1 = tf.tensor1d(wave(6, 2, 0.1));
  const dw = tf.tensor4d(wave(3 * 3 * 6 * 1, 3, 0.7), [3, 3, 6, 1]);
  const b2 = tf.tensor1d(wave(6, 4, 0.2));
  const w3 = tf.tensor4d(wave(6 * 8, 5, 0.8), [1, 1, 6, 8]);
  const b3 = tf.tensor1d(wave(8, 6, 0.1));
  const w4 = tf.tensor2d(wave(8 * 5, 7, 8), [8, 5]);
  const b4 = tf.tensor1d(wave(5, 8, 0.2));
  const n = FIXTURE_SHAPE[0] * FIXTURE_SHAPE[1] * FIXTURE_SHAPE[2] * FIXTURE_SHAPE[3];
  const xs = new Float32Array(n);
  for (let i = 0; i < n; i++) xs[i] = 0.5 + 0.5 * Math.sin(0.37 * i + 0.1 * (i % 7)) * Math.cos(0.05 * i);
  const input = tf.tensor4d(xs, [FIXTURE_SHAPE[0], FIXTURE_SHAPE[1], FIXTURE_SHAPE[2], FIXTURE_SHAPE[3]]);
  const model = (x: tf.Tensor4D): tf.Tensor2D =>
    tf.tidy(() => {
      const h1 = tf.fused.conv2d({ x, filter: w1, strides: 1, pad: 'same', bias: b1, activation: 'relu' });
      const h2 = tf.fused.depthwiseConv2d({ x: h1, filter: dw, strides: 2, pad: 'same', bias: b2, activation: 'relu6' });
      const h3 = tf.leakyRelu(tf.fused.conv2d({ x: h2, filter: w3, strides: 1, pad: 'valid', bias: b3 }), 0.1);
      const pooled = tf.mean(h3, [1, 2]) as tf.Tensor2D;
      return tf.fused.matMul({ a: pooled, b: w4, bias: b4 }) as tf.Tensor2D;
    });
  const weights = [w1, b1, dw, b2, w3, b3, w4, b4];
  return {
    model,
    input,
    dispose: () => tf.dispose([...weights, input]),
  };
}

/** The fixed explain() options of the fixture (SGD, fixed lambda and steps: the run is deterministic). */
export const FIXTURE_OPTIONS = {
  optimizer: 'sgd',
  learningRate: 20,
  lambda: 0.02,
  steps: 25,
  earlyStop: false,
  defense: true,
  readEvery: 25,
} as const;

/** The class the fixture explains. */
export const FIXTURE_TARGET = 'top' as const;
