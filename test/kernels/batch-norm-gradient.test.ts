// The input-only FusedBatchNorm gradient: identical input gradients to tfjs's
// (inference-mode batch norm, rank-1 statistics; tfjs 4.22's own gradient fails
// without scale or offset, so both are given), the
// other gradients still available (statistics that depend on the input), and
// the registry restored.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { withInputGradientKernels } from '../../src/kernels';
import { describeEachBackend } from '../backends';

describeEachBackend('input-only FusedBatchNorm gradient', () => {
  it('gives the same input gradient as tfjs', () => {
    const x = tf.randomNormal([2, 5, 4, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const mean = tf.tensor1d([0.1, -0.2, 0.3]);
    const variance = tf.tensor1d([0.5, 1.5, 2.0]);
    const offset = tf.tensor1d([0.0, 0.1, -0.1]);
    const scale = tf.tensor1d([1.2, 0.7, -0.4]);
    const w = tf.randomNormal([2, 5, 4, 3], 0, 1, 'float32', 2);
    for (const s of [scale, tf.tensor1d([-0.3, 2.5, 0.9])]) {
      const f = (z: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.batchNorm(z as tf.Tensor4D, mean, variance, offset, s, 0.001)), w));
      const stock = tf.grad(f)(x);
      const before = tf.getGradient('FusedBatchNorm');
      const ours = withInputGradientKernels(() => {
        expect(tf.getGradient('FusedBatchNorm')).not.toBe(before);
        return tf.grad(f)(x);
      });
      expect(tf.getGradient('FusedBatchNorm')).toBe(before);
      expect(Array.from(ours.dataSync())).toEqual(Array.from(stock.dataSync()));
      const off = withInputGradientKernels(() => tf.grad(f)(x), { inputOnlyBatchNorm: false });
      expect(Array.from(off.dataSync())).toEqual(Array.from(stock.dataSync()));
      tf.dispose([stock, ours, off]);
    }
    tf.dispose([x, mean, variance, offset, scale, w]);
  });

  it('delegates the statistics gradients when they are on the path', () => {
    const x = tf.randomNormal([1, 4, 4, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const f = (z: tf.Tensor) => {
      const { mean, variance } = tf.moments(z, [0, 1, 2]);
      return tf.sum(tf.square(tf.batchNorm(z as tf.Tensor4D, mean, variance, tf.tensor1d([0.5, -1]), tf.tensor1d([2, 3]), 0.01)));
    };
    const stock = tf.grad(f)(x);
    const ours = withInputGradientKernels(() => tf.grad(f)(x));
    const a = ours.dataSync();
    const b = stock.dataSync();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 5);
    tf.dispose([x, stock, ours]);
  });
});
