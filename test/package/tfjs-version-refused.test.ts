/**
 * With a tfjs-core outside the tested versions, fgvis refuses to run, with a
 * FgvisVersionError, before it changes anything in tfjs: no explanation, no
 * swapped gradient or kernel, no leaked tensor. (tfjs-core's version is faked.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';
import { captureBounds, explain, FgvisVersionError, withInputGradientKernels } from '../../src';
import { gradientSaliency } from '../../src/baselines';
import { useBackend } from '../backends';

vi.mock('@tensorflow/tfjs-core', async (importOriginal) => ({ ...(await importOriginal<object>()), version_core: '4.23.0' }));

describe('an unsupported tfjs is refused before anything changes', () => {
  it('explain, a baseline and the pieces throw FgvisVersionError; registries and memory are untouched', async () => {
    await useBackend('cpu');
    const w = tf.randomNormal([2, 2, 3, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    const model = (x: tf.Tensor4D) => tf.tidy(() => tf.softmax(tf.reshape(tf.mean(tf.relu(tf.conv2d(x, w, 1, 'same')), [1, 2]), [-1, 2])));
    const x = tf.randomUniform([1, 4, 4, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const relu = tf.getGradient('Relu');
    const conv = tf.getKernel('Conv2DBackpropFilter', 'cpu');
    const before = tf.memory().numTensors;
    await expect(explain(model, x, 'top', { steps: 3 })).rejects.toBeInstanceOf(FgvisVersionError);
    await expect(explain(model, x, 'top', { steps: 3 })).rejects.toThrow(/found 4\.23\.0/);
    await expect(gradientSaliency(model, x, 'top')).rejects.toBeInstanceOf(FgvisVersionError);
    expect(() => withInputGradientKernels(() => 1)).toThrow(FgvisVersionError);
    expect(() => captureBounds(() => model(x))).toThrow(FgvisVersionError);
    expect(tf.getGradient('Relu')).toBe(relu);
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')).toBe(conv);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([w, x]);
  });
});
