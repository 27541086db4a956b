import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { describeEachBackend } from './backends';

describeEachBackend('backend harness', (backend) => {
  it('runs on the selected backend with gradients registered', () => {
    expect(tf.getBackend()).toBe(backend);
    expect(tf.getGradient('Relu')).toBeDefined();
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.relu(x)))(tf.tensor1d([-1, 2]));
    expect(Array.from(g.dataSync())).toEqual([0, 1]);
  });
});
