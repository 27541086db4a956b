// Smooth nonlinearities (Sigmoid, Tanh, ...) given in gatedKernels are gated
// only between two linear layers: inside the network, never the
// explanation's own Sigmoid before the model nor the model's output Sigmoid.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getGradient } from '@tensorflow/tfjs-core';
import { captureBounds, DEFAULT_GATED_KERNELS, PassThroughBound, SMOOTH_ACTIVATION_KERNELS, withGradientFilter } from '../../src/filter';
import { describeEachBackend } from '../backends';

describeEachBackend('smooth nonlinearities in gatedKernels', () => {
  const weights: tf.Tensor[] = [];
  let w1: tf.Tensor2D, w2: tf.Tensor2D, w3: tf.Tensor2D;
  beforeAll(() => {
    // Diagonal layers keep the chain elementwise, so the gate can be derived by hand.
    w1 = tf.diag(tf.tensor1d([1, 1, 1, 1, 1, 1])) as tf.Tensor2D;
    w2 = tf.diag(tf.tensor1d([1, -1, 1, -1, 1, -1])) as tf.Tensor2D; // Tanh outputs of both signs
    w3 = tf.tensor2d([1.5, -2, 0.7, 3, -1.1, 0.9], [6, 1]);
    weights.push(w1, w2, w3);
  });
  afterAll(() => tf.dispose(weights));

  /**
   * sigmoid (the mask's parameterisation: no linear layer upstream) -> dense ->
   * Sigmoid -> dense -> Tanh -> dense -> Sigmoid (a single-score output: no
   * linear layer downstream).
   */
  const model = (t: tf.Tensor): tf.Scalar => {
    const s0 = tf.sigmoid(t);
    const h1 = tf.sigmoid(tf.matMul(s0, w1));
    const h2 = tf.tanh(tf.matMul(h1, w2));
    return tf.sum(tf.sigmoid(tf.matMul(h2, w3))) as tf.Scalar;
  };

  // Every layer is increasing in t_i up to the sign of w2, so both hidden outputs
  // leave [min(0, h(x)), max(0, h(x))] exactly where e_i > x_i.
  const X = [0.5, -1, 2, 0.3, -0.4, 1];
  const E = [0.9, -1.5, 1, 0.8, -0.4, 1.2];
  const inside = X.map((xv, i) => E[i]! <= xv);

  for (const extra of [['Sigmoid'], ['Tanh'], ['Sigmoid', 'Tanh']]) {
    it(`gatedKernels + ${extra.join(', ')}: the gradient is zero exactly where a hidden output leaves its bound`, () => {
      const x = tf.tensor2d(X, [1, 6]);
      const e = tf.tensor2d(E, [1, 6]);
      const before = tf.memory().numTensors;
      const gatedKernels = [...DEFAULT_GATED_KERNELS, ...extra];
      const { result: gx, bounds } = captureBounds(() => tf.grad(model)(x), { gatedKernels });
      const kinds = bounds.entries.map((b) => `${b.kernel}${b instanceof PassThroughBound ? ' (pass)' : ''}`);
      // Backward-visit order: the output Sigmoid and the mask's Sigmoid pass, the hidden ones are gated.
      const expected = ['Sigmoid (pass)', 'Tanh', 'Sigmoid', 'Sigmoid (pass)'].filter((k) => extra.includes(k.split(' ')[0]!));
      expect(kinds).toEqual(expected);
      expect(bounds.gatedOutputs).toBe(extra.length);

      const plain = tf.grad(model)(e);
      const { result: ge, gated } = withGradientFilter(bounds, () => tf.grad(model)(e));
      expect(gated.gatedOutputs).toBe(extra.length);
      const p = plain.dataSync();
      const g = ge.dataSync();
      inside.forEach((ok, i) => {
        if (ok) expect(g[i], `element ${i} passes unchanged`).toBe(p[i]);
        else expect(Math.abs(g[i]!), `element ${i} is blocked`).toBe(0);
      });
      expect(inside.some((ok, i) => !ok && p[i] !== 0)).toBe(true);
      expect(inside.some((ok) => ok)).toBe(true);
      tf.dispose([gx, ge, plain]);
      bounds.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, e]);
    });
  }

  it('SMOOTH_ACTIVATION_KERNELS is an opt-in: registered gradients, none in the default list', () => {
    expect([...SMOOTH_ACTIVATION_KERNELS]).toEqual(['Sigmoid', 'Tanh', 'Softplus', 'Erf']);
    for (const k of SMOOTH_ACTIVATION_KERNELS) {
      expect(getGradient(k), k).toBeDefined();
      expect(DEFAULT_GATED_KERNELS).not.toContain(k);
    }
  });

  it('a Sigmoid or Tanh with no linear layer on one side is never gated', () => {
    const x = tf.tensor2d(X, [1, 6]);
    const e = tf.tensor2d(E, [1, 6]);
    const before = tf.memory().numTensors;
    // No linear layer at all: the explanation's arithmetic.
    const plainFn = (t: tf.Tensor) => tf.sum(tf.mul(tf.tanh(tf.sigmoid(t)), tf.reshape(w3, [1, 6]))) as tf.Scalar;
    const { result: gx, bounds } = captureBounds(() => tf.grad(plainFn)(x), { gatedKernels: [...DEFAULT_GATED_KERNELS, 'Sigmoid', 'Tanh'] });
    expect(bounds.gatedOutputs).toBe(0);
    const { result: ge } = withGradientFilter(bounds, () => tf.grad(plainFn)(e));
    const plain = tf.grad(plainFn)(e);
    expect(Array.from(ge.dataSync())).toEqual(Array.from(plain.dataSync()));
    tf.dispose([gx, ge, plain]);
    bounds.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, e]);
  });
});
