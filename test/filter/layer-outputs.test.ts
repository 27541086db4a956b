// The default defense gates layer outputs (convolutions, adds, max pooling)
// too, except the input's normalisation (before the first convolution) and
// the flat logits after the last activation. Checked against an oracle that gates the same outputs with
// identity ops written with tf.customGrad.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { captureBounds, GradientFilter, PassThroughBound, withGradientFilter } from '../../src/filter';
import { describeEachBackend } from '../backends';
import { CustomGradient, inputGradientKernelsFor, maxAbs, maxAbsDiff } from './harness';

/** Identity whose backward multiplies dy by [lo <= h <= hi]. */
function gate(lo: tf.Tensor, hi: tf.Tensor): (h: tf.Tensor) => tf.Tensor {
  return tf.customGrad(((h: tf.Tensor, save: tf.GradSaveFunc) => {
    save([h]);
    return {
      value: tf.clone(h),
      gradFunc: (dy: tf.Tensor, [sh]: tf.Tensor[]) => [tf.where(tf.logicalAnd(tf.greaterEqual(sh!, lo), tf.lessEqual(sh!, hi)), dy, tf.zerosLike(dy))],
    };
  }) as unknown as CustomGradient) as (h: tf.Tensor) => tf.Tensor;
}

describeEachBackend('the defense gates layer outputs, except the input normalisation and the logits', (backend) => {
  const weights: tf.Tensor[] = [];
  let w1: tf.Tensor4D, b1: tf.Tensor1D, w2: tf.Tensor4D, b2: tf.Tensor1D, wd: tf.Tensor2D, bd: tf.Tensor1D;
  beforeAll(() => {
    const r = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 0.5, 'float32', seed);
    [w1, b1, w2, b2, wd, bd] = [r([3, 3, 2, 4], 1), r([4], 2), r([3, 3, 4, 4], 3), r([4], 4), r([4 * 4 * 4, 3], 5), r([3], 6)] as [tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
    weights.push(w1, b1, w2, b2, wd, bd);
  });
  afterAll(() => tf.dispose(weights));

  /**
   * normalise (Mul, Add) -> conv + bias -> relu -> conv + bias -> residual add -> relu
   * -> max pool -> dense + bias -> logits. `at(name, h)` sees each output
   * the default list names, in forward order.
   */
  const model = (x: tf.Tensor, at: (name: string, h: tf.Tensor) => tf.Tensor = (_n, h) => h) => {
    const z = at('Add:normalise', tf.add(tf.mul(x, 2), -1));
    const c1 = at('Conv2D:1', tf.conv2d(z as tf.Tensor4D, w1, 1, 'same'));
    const a1 = at('Add:bias1', tf.add(c1, b1));
    const h1 = at('Relu:1', tf.relu(a1));
    const c2 = at('Conv2D:2', tf.conv2d(h1 as tf.Tensor4D, w2, 1, 'same'));
    const a2 = at('Add:bias2', tf.add(c2, b2));
    const s = at('Add:residual', tf.add(h1, a2));
    const h2 = at('Relu:2', tf.relu(s));
    const p = at('MaxPool', tf.maxPool(h2 as tf.Tensor4D, 2, 2, 'valid'));
    const logits = at('Add:logits', tf.add(tf.matMul(tf.reshape(p, [1, -1]), wd), bd));
    return tf.sum(tf.slice(logits, [0, 1], [1, 1])) as tf.Scalar;
  };
  const HIDDEN = ['Conv2D:1', 'Add:bias1', 'Relu:1', 'Conv2D:2', 'Add:bias2', 'Add:residual', 'Relu:2', 'MaxPool'];

  it('gates convolutions, adds and pooling, and passes the normalisation and the logits through', () => {
    const wrap = inputGradientKernelsFor(backend);
    const x = tf.randomUniform([1, 8, 8, 2], 0, 1, 'float32', 7) as tf.Tensor4D;
    const e = tf.tidy(() => tf.mul(x, tf.randomUniform([1, 8, 8, 2], 0, 1.2, 'float32', 8))) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const grad = (v: tf.Tensor) => wrap(() => tf.grad((t: tf.Tensor) => model(t))(v));

    const { result: gx, bounds } = captureBounds(() => grad(x));
    // Backward-visit order is the reverse of the forward order for this chain.
    const kinds = bounds.entries.map((b) => `${b.kernel}${b instanceof PassThroughBound ? ' (pass)' : ''}`);
    expect(kinds).toEqual([
      'Add (pass)', 'MaxPool', 'Relu', 'Add (pass)', 'Add', 'Conv2D', 'Relu', 'Add (pass)', 'Conv2D', 'Add (pass)',
    ]);
    // The residual add and the first bias add feed a ReLU directly: its gate implies theirs.
    expect(bounds.gatedOutputs).toBe(6);

    // The oracle: the same model with an explicit gate after each hidden output (the
    // two passed-through adds included: skipping them must change nothing), bounds from x.
    const oracleBounds = new Map<string, [tf.Tensor, tf.Tensor]>();
    tf.tidy(() => void model(x, (name, h) => {
      oracleBounds.set(name, [tf.keep(tf.minimum(h, 0)), tf.keep(tf.maximum(h, 0))]);
      return h;
    }));
    const gatedAt = (names: string[]) => wrap(() => tf.grad((t: tf.Tensor) => model(t, (name, h) => {
      if (!names.includes(name)) return h;
      const b = oracleBounds.get(name)!;
      return gate(b[0], b[1])(h);
    }))(e));
    const oracle = gatedAt(HIDDEN);
    const { result: ge, gated } = withGradientFilter(bounds, () => grad(e));
    expect(gated.gatedOutputs).toBe(6);
    const plain = grad(e);
    // The gates changed the gradient here (else the comparison says little), and exactly as the oracle's.
    expect(maxAbsDiff(plain, oracle)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(ge, oracle)).toBeLessThan(1e-5 * Math.max(1, maxAbs(oracle)));
    // Gating the input's normalisation and the logits too would have changed it.
    const everything = gatedAt([...HIDDEN, 'Add:normalise', 'Add:logits']);
    expect(maxAbsDiff(everything, ge)).toBeGreaterThan(1e-3);
    tf.dispose([gx, ge, plain, oracle, everything, ...[...oracleBounds.values()].flat()]);
    bounds.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, e]);
  });

  it('reports only the gated outputs as filtered', () => {
    const wrap = inputGradientKernelsFor(backend);
    const x = tf.randomUniform([1, 8, 8, 2], 0, 1, 'float32', 9) as tf.Tensor4D;
    const e = tf.mul(x, 0.5) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const filter = new GradientFilter();
    const g0 = wrap(() => filter.run(() => tf.grad((t: tf.Tensor) => model(t))(x)));
    expect(filter.gatedOutputs).toBe(6);
    expect(filter.lastStats!.gatedOutputs).toBe(6);
    const g1 = wrap(() => filter.run(() => tf.grad((t: tf.Tensor) => model(t))(e)));
    expect(filter.lastStats!.gatedOutputs).toBe(6);
    expect(filter.lastStats!.elements).toBe(5 * (8 * 8 * 4) + 4 * 4 * 4);
    filter.dispose();
    tf.dispose([g0, g1]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, e]);
  });
});
