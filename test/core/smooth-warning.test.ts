// explain() warns when the defense leaves hidden smooth nonlinearities ungated (a
// network of swish / GELU / softplus is then barely defended), and only then.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_GATED_KERNELS, explain } from '../../src';
import { describeEachBackend } from '../backends';

describeEachBackend('the ungated smooth nonlinearities warning', () => {
  const weights: tf.Tensor[] = [];
  let w1: tf.Tensor2D, w2: tf.Tensor2D;
  beforeAll(() => {
    w1 = tf.tensor2d(Array.from({ length: 12 * 6 }, (_, i) => Math.sin(i * 1.7) * 0.5), [12, 6]);
    w2 = tf.tensor2d(Array.from({ length: 6 * 3 }, (_, i) => Math.cos(i * 2.3)), [6, 3]);
    weights.push(w1, w2);
  });
  afterAll(() => tf.dispose(weights));

  /** dense -> `hidden` -> dense -> softmax, on a [1, 2, 2, 3] input. */
  const net = (hidden: (t: tf.Tensor) => tf.Tensor) => (x: tf.Tensor4D) =>
    tf.softmax(tf.matMul(hidden(tf.matMul(tf.reshape(x, [1, 12]), w1)), w2)) as tf.Tensor2D;
  const x = () => tf.tensor4d(Array.from({ length: 12 }, (_, i) => (i % 5) / 5), [1, 2, 2, 3]);
  const warning = /hidden smooth nonlinearities \(Sigmoid, Tanh, Softplus, Erf\) that the defense does not gate/;

  it('warns for a Tanh or a swish (x * sigmoid(x)) between two dense layers, with the default kernels', async () => {
    const input = x();
    const before = tf.memory().numTensors;
    for (const hidden of [tf.tanh, (t: tf.Tensor) => tf.mul(t, tf.sigmoid(t))]) {
      const r = await explain(net(hidden), input, 'top', { steps: 3 });
      expect(r.warnings.some((w) => warning.test(w)), r.warnings.join('\n')).toBe(true);
      r.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    input.dispose();
  });

  it('does not warn once they are gated, for ReLU networks, without the defense, or for an output Sigmoid', async () => {
    const input = x();
    const cases: [string, (x: tf.Tensor4D) => tf.Tensor, object][] = [
      ['Tanh gated', net(tf.tanh), { gatedKernels: [...DEFAULT_GATED_KERNELS, 'Sigmoid', 'Tanh', 'Softplus', 'Erf'] }],
      ['ReLU', net(tf.relu), {}],
      ['no defense', net(tf.tanh), { defense: false }],
      // A single-score model: its Sigmoid is the output (no linear layer downstream), not a hidden layer.
      ['output Sigmoid', (t: tf.Tensor4D) => tf.sigmoid(tf.matMul(tf.relu(tf.matMul(tf.reshape(t, [1, 12]), w1)), tf.slice(w2, [0, 0], [6, 1]))), {}],
    ];
    for (const [name, model, options] of cases) {
      const r = await explain(model, input, 0, { steps: 3, ...options });
      expect(r.warnings.some((w) => warning.test(w)), `${name}: ${r.warnings.join('\n')}`).toBe(false);
      r.dispose();
    }
    input.dispose();
  });
});
