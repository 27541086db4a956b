// The old names of the gated-kernel concepts still work (deprecated aliases),
// and give the same results as the new ones.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ACTIVATION_KERNELS,
  ActivationBounds,
  DEFAULT_FILTERED_ACTIVATIONS,
  DEFAULT_GATED_KERNELS,
  EXPLAIN_DEFAULTS,
  GateBounds,
  GradientFilter,
  captureBounds,
  explain,
  withGradientFilter,
} from '../../src';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('deprecated names', () => {
  const w = [[1, -1], [-2, 1], [0.5, 0.5]];
  const model = (x: tf.Tensor4D) =>
    tf.tidy(() => tf.softmax(tf.matMul(tf.reshape(tf.mean(tf.relu(tf.sub(x, 0.3)), [1, 2]), [-1, 3]), tf.tensor2d(w))));

  it('constants and the bounds class are the new ones', () => {
    expect(DEFAULT_FILTERED_ACTIVATIONS).toBe(DEFAULT_GATED_KERNELS);
    expect(EXPLAIN_DEFAULTS.activations).toBe(EXPLAIN_DEFAULTS.gatedKernels);
    expect(ActivationBounds).toBe(GateBounds);
    const b = new ActivationBounds([], ['Relu']);
    expect(b).toBeInstanceOf(GateBounds);
    expect(b.activations).toBe(b.kernels);
    expect(b.gatedCount).toBe(b.gatedOutputs);
  });

  it('options.activations is options.gatedKernels; filtered, count and FilterStats.activations are gatedOutputs', async () => {
    const x = tf.randomUniform([1, 4, 4, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const a = await explain(model, x, 0, { steps: 4, activations: ACTIVATION_KERNELS });
    const b = await explain(model, x, 0, { steps: 4, gatedKernels: ACTIVATION_KERNELS });
    expect(a.gatedOutputs).toBe(1);
    expect(a.filtered).toBe(a.gatedOutputs);
    expect(Array.from(await a.mask.data())).toEqual(Array.from(await b.mask.data()));
    a.dispose();
    b.dispose();

    const grad = () => tf.grad((t: tf.Tensor) => tf.sum(model(t as tf.Tensor4D)))(x);
    const { result, bounds } = captureBounds(grad, { activations: ['Relu'] });
    result.dispose();
    expect(bounds.kernels).toEqual(['Relu']);
    const { result: r2, gated } = withGradientFilter(bounds, grad);
    r2.dispose();
    expect(gated.activations).toBe(gated.gatedOutputs);
    bounds.dispose();
    const filter = new GradientFilter({ activations: ['Relu'] });
    filter.run(grad).dispose();
    expect(filter.count).toBe(filter.gatedOutputs);
    filter.dispose();
    x.dispose();
  });
});
