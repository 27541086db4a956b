// The classification layer is never gated, whatever its form: a dense head
// (rank-2 logits) and the same classifier as a 1x1 convolution on pooled
// features (rank-4 logits [1,1,1,K], reshaped, as in MobileNet heads) give
// the same gated outputs and the same filtered gradient. A spatial map of
// class evidence (a convolution before the global pooling) is a hidden layer
// and stays gated.
import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { captureBounds, PassThroughBound, withGradientFilter, type GateBounds } from '../../src/filter';
import { describeEachBackend } from '../backends';
import { fixtureImage, HEAD_CLASSES, HEAD_INPUT_SHAPE, makeHeadGraphModels } from '../fixtures/graph-model';
import { inputGradientKernelsFor, maxAbs, maxAbsDiff } from './harness';

type Net = (x: tf.Tensor4D) => tf.Tensor;

describeEachBackend('the classification layer is not gated', (backend) => {
  const weights: tf.Tensor[] = [];
  let graphs: { dense: GraphModel; conv: GraphModel };
  let nets: Record<'dense' | 'conv1x1' | 'spatial', Net>;
  beforeAll(async () => {
    const r = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 0.5, 'float32', seed);
    const [w1, b1, w2, b2, wd, bd] = [r([3, 3, 3, 6], 1), r([6], 2), r([3, 3, 6, 8], 3), r([8], 4), r([8, 4], 5), r([4], 6)];
    weights.push(w1!, b1!, w2!, b2!, wd!, bd!);
    const body = (x: tf.Tensor4D) => tf.relu(tf.add(tf.conv2d(tf.relu(tf.add(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'), b1!)) as tf.Tensor4D, w2 as tf.Tensor4D, 2, 'same'), b2!)) as tf.Tensor4D;
    const wc = tf.reshape(wd!, [1, 1, 8, 4]) as tf.Tensor4D;
    weights.push(wc);
    nets = {
      dense: (x) => tf.softmax(tf.add(tf.matMul(tf.mean(body(x), [1, 2]) as tf.Tensor2D, wd as tf.Tensor2D), bd!)),
      conv1x1: (x) => tf.softmax(tf.reshape(tf.add(tf.conv2d(tf.mean(body(x), [1, 2], true) as tf.Tensor4D, wc, 1, 'valid'), bd!), [-1, 4])),
      // The classifier applied at every position, then averaged (class evidence maps, as in mini-Xception).
      spatial: (x) => tf.softmax(tf.mean(tf.add(tf.conv2d(body(x), wc, 1, 'valid'), bd!), [1, 2])),
    };
    graphs = await makeHeadGraphModels();
  });
  afterAll(() => {
    tf.dispose(weights);
    graphs.dense.dispose();
    graphs.conv.dispose();
  });

  /** Capture on x, then the filtered gradient of log p_1 at e; returns both and the bounds' kinds. */
  const run = (f: Net, x: tf.Tensor4D, e: tf.Tensor4D) => {
    const wrap = inputGradientKernelsFor(backend);
    const grad = (v: tf.Tensor4D) => wrap(() => tf.grad((t: tf.Tensor) => tf.log(tf.sum(tf.slice(f(t as tf.Tensor4D), [0, 1], [1, 1]))))(v));
    const { result: g0, bounds } = captureBounds(() => grad(x));
    const { result: ge } = withGradientFilter(bounds, () => grad(e));
    g0.dispose();
    return { ge, bounds };
  };
  const kinds = (b: GateBounds) => b.entries.map((e) => `${e.kernel}${e instanceof PassThroughBound ? ' (pass)' : ''} [${e.shape.join(',')}]`);

  it('gates the same outputs, and filters the gradient alike, with a dense and with a 1x1-convolution head', () => {
    const x = fixtureImage(HEAD_INPUT_SHAPE, 3);
    const e = tf.mul(x, tf.randomUniform(x.shape, 0, 1.3, 'float32', 4)) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const dense = run(nets.dense, x, e);
    const conv = run(nets.conv1x1, x, e);
    const spatial = run(nets.spatial, x, e);
    expect(conv.bounds.gatedOutputs).toBe(dense.bounds.gatedOutputs);
    // The head's convolution and bias are matched and passed through.
    expect(kinds(conv.bounds).slice(0, 2)).toEqual([`Add (pass) [1,1,1,${HEAD_CLASSES}]`, `Conv2D (pass) [1,1,1,${HEAD_CLASSES}]`]);
    expect(kinds(dense.bounds)[0]).toBe(`Add (pass) [1,${HEAD_CLASSES}]`);
    // The same function, the same gates: the same filtered gradient.
    expect(maxAbsDiff(conv.ge, dense.ge)).toBeLessThan(1e-5 * Math.max(1, maxAbs(dense.ge)));
    // Class evidence at every position: its convolution and bias are gated.
    expect(spatial.bounds.gatedOutputs).toBe(dense.bounds.gatedOutputs + 2);
    expect(kinds(spatial.bounds).slice(0, 2)).toEqual([`Add [1,4,4,${HEAD_CLASSES}]`, `Conv2D [1,4,4,${HEAD_CLASSES}]`]);
    for (const r of [dense, conv, spatial]) {
      r.ge.dispose();
      r.bounds.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, e]);
  });

  it('does the same in GraphModels (MatMul + BiasAdd, and Conv2D 1x1 + BiasAdd + Reshape)', () => {
    const x = fixtureImage(HEAD_INPUT_SHAPE, 5);
    const e = tf.mul(x, tf.randomUniform(x.shape, 0, 1.3, 'float32', 6)) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const dense = run((t) => graphs.dense.execute(t) as tf.Tensor, x, e);
    const conv = run((t) => graphs.conv.execute(t) as tf.Tensor, x, e);
    expect(dense.bounds.gatedOutputs).toBeGreaterThan(0);
    expect(conv.bounds.gatedOutputs).toBe(dense.bounds.gatedOutputs);
    expect(kinds(conv.bounds).slice(0, 2)).toEqual([`Add (pass) [1,1,1,${HEAD_CLASSES}]`, `Conv2D (pass) [1,1,1,${HEAD_CLASSES}]`]);
    expect(maxAbsDiff(conv.ge, dense.ge)).toBeLessThan(1e-5 * Math.max(1, maxAbs(dense.ge)));
    for (const r of [dense, conv]) {
      r.ge.dispose();
      r.bounds.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, e]);
  });
});
