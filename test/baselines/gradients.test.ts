// Gradient saliency, SmoothGrad and Integrated Gradients on models with known
// answers: linear models (the gradient is the weight pattern), a smooth
// nonlinear model (completeness), and bookkeeping (no leaks, input untouched).
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gradientSaliency, integratedGradients, smoothGrad } from '../../src/baselines';
import { describeEachBackend } from '../backends';
import { checked, maxAbsDiff } from './helpers';
import { linearModel, nonlinearModel, seeded, values } from './models';

/** `reduce_c |t|` over the last axis of `[H,W,C]`, divided by its maximum. */
function pattern(t: tf.Tensor, reduce: 'max' | 'mean' = 'max'): Float32Array {
  return tf.tidy(() => {
    const a = tf.abs(tf.reshape(t, t.shape.slice(-3)));
    const r = reduce === 'max' ? tf.max(a, 2) : tf.mean(a, 2);
    return values(tf.div(r, tf.max(r)));
  });
}

describeEachBackend('gradient baselines', () => {
  const SHAPE = [4, 4, 3];
  let w0: tf.Tensor;
  let w1: tf.Tensor;
  let x: tf.Tensor3D;
  let lin: ReturnType<typeof linearModel>;
  let linLogits: ReturnType<typeof linearModel>;
  let nonlin: ReturnType<typeof nonlinearModel>;
  beforeAll(() => {
    w0 = seeded(SHAPE, 1);
    w1 = seeded(SHAPE, 2);
    x = seeded(SHAPE, 3, 0, 1) as tf.Tensor3D;
    lin = linearModel(w0, w1, 'probabilities');
    linLogits = linearModel(w0, w1, 'logits');
    nonlin = nonlinearModel();
  });
  afterAll(() => {
    tf.dispose([w0, w1, x]);
    lin.dispose();
    linLogits.dispose();
    nonlin.dispose();
  });

  it('gradientSaliency of a softmax over two linear logits is the |w1 - w0| pattern (log-probability)', async () => {
    await checked(
      () => gradientSaliency(lin.f, x, 1),
      (r) => {
        expect(r.target).toBe(1);
        expect(r.score).toBe('log-probability');
        expect(r.saliency.shape).toEqual([4, 4]);
        expect(r.gradient.shape).toEqual([4, 4, 3]);
        const diff = tf.sub(w1, w0);
        expect(maxAbsDiff(values(r.saliency), pattern(diff))).toBeLessThan(1e-5);
        // The raw gradient of log p1 is (1 - p1) (w1 - w0).
        const p1 = values(lin.f(tf.reshape(x, [1, 4, 4, 3]) as tf.Tensor4D))[1]!;
        expect(maxAbsDiff(values(r.gradient), values(tf.mul(diff, 1 - p1)))).toBeLessThan(1e-5);
      },
    );
  });

  it('gradientSaliency of a logit model differentiates the logit: the |w_c| pattern, max or mean over channels', async () => {
    await checked(
      () => gradientSaliency(linLogits.f, x, 0),
      (r) => {
        expect(r.score).toBe('logit');
        expect(maxAbsDiff(values(r.gradient), values(w0))).toBeLessThan(1e-6);
        expect(maxAbsDiff(values(r.saliency), pattern(w0))).toBeLessThan(1e-6);
      },
    );
    await checked(
      () => gradientSaliency(linLogits.f, x, 0, { channels: 'mean' }),
      (r) => expect(maxAbsDiff(values(r.saliency), pattern(w0, 'mean'))).toBeLessThan(1e-6),
    );
    // The probability's gradient is p0 (1 - p0) (w0 - w1): the difference pattern.
    await checked(
      () => gradientSaliency(linLogits.f, x, 0, { score: 'probability' }),
      (r) => expect(maxAbsDiff(values(r.saliency), pattern(tf.sub(w0, w1)))).toBeLessThan(1e-5),
    );
  });

  it('saliency lies in [0, 1] with maximum 1; the input is neither changed nor disposed', async () => {
    const x4 = tf.reshape(x, [1, 4, 4, 3]);
    const copy = Array.from(values(x4));
    await checked(
      () => gradientSaliency(nonlin.f, x4, 'top'),
      (r) => {
        const s = values(r.saliency);
        expect(Math.min(...s)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...s)).toBeCloseTo(1, 6);
        expect(r.gradient.shape).toEqual([1, 4, 4, 3]);
      },
    );
    expect(x4.isDisposed).toBe(false);
    expect(Array.from(values(x4))).toEqual(copy);
    x4.dispose();
  });

  it('smoothGrad with noise 0 equals gradientSaliency', async () => {
    const g = await gradientSaliency(nonlin.f, x, 2);
    await checked(
      () => smoothGrad(nonlin.f, x, 2, { noise: 0, samples: 5 }),
      (s) => {
        expect(s.sigma).toBe(0);
        expect(maxAbsDiff(values(s.saliency), values(g.saliency))).toBeLessThan(1e-6);
        expect(maxAbsDiff(values(s.gradient), values(g.gradient))).toBeLessThan(1e-6);
      },
    );
    g.dispose();
  });

  it('smoothGrad is reproducible with a seed, differs across seeds, does not depend on batchSize, and uses sigma = 0.15 of the range', async () => {
    const a = await smoothGrad(nonlin.f, x, 0, { samples: 8, seed: 5 });
    const expectedSigma = 0.15 * (Math.max(...values(x)) - Math.min(...values(x)));
    await checked(
      () => smoothGrad(nonlin.f, x, 0, { samples: 8, seed: 5 }),
      (b) => expect(Array.from(values(b.gradient))).toEqual(Array.from(values(a.gradient))),
    );
    await checked(
      () => smoothGrad(nonlin.f, x, 0, { samples: 8, seed: 6 }),
      (c) => expect(maxAbsDiff(values(c.gradient), values(a.gradient))).toBeGreaterThan(1e-4),
    );
    await checked(
      () => smoothGrad(nonlin.f, x, 0, { samples: 8, seed: 5, batchSize: 3 }),
      (batched) => {
        expect(batched.batchSize).toBe(3);
        expect(maxAbsDiff(values(batched.gradient), values(a.gradient))).toBeLessThan(1e-5);
      },
    );
    expect(a.sigma).toBeCloseTo(expectedSigma, 5);
    a.dispose();
    // On a linear logit model every noisy gradient is w1.
    await checked(
      () => smoothGrad(linLogits.f, x, 1, { samples: 4, aggregate: 'mean-square' }),
      (r) => expect(maxAbsDiff(values(r.gradient), values(tf.square(w1)))).toBeLessThan(1e-5),
    );
  });

  it('integratedGradients of a linear logit is exactly (x - baseline) * w, with no completeness gap', async () => {
    await checked(
      () => integratedGradients(linLogits.f, x, 1, { steps: 4 }),
      (r) => {
        expect(r.attributions.shape).toEqual([4, 4, 3]);
        expect(maxAbsDiff(values(r.attributions), values(tf.mul(x, w1)))).toBeLessThan(1e-5);
        expect(Math.abs(r.completeness.gap)).toBeLessThan(1e-4);
      },
    );
    const ref = tf.fill([4, 4, 3], 0.25);
    await checked(
      () => integratedGradients(linLogits.f, x, 1, { steps: 3, baseline: ref, rule: 'trapezoid' }),
      (r) => {
        expect(maxAbsDiff(values(r.attributions), values(tf.mul(tf.sub(x, 0.25), w1)))).toBeLessThan(1e-5);
        expect(r.completeness.baselineScore).toBeCloseTo(values(tf.sum(tf.mul(ref, w1)))[0]!, 4);
      },
    );
    expect(ref.isDisposed).toBe(false);
    ref.dispose();
  });

  it('integratedGradients is complete on a nonlinear model within 1 % (zero, blur and mean baselines; midpoint and trapezoid)', async () => {
    for (const baseline of ['zero', 'blur', 'mean'] as const) {
      for (const rule of ['midpoint', 'trapezoid'] as const) {
        await checked(
          () => integratedGradients(nonlin.f, x, 2, { baseline, rule, blurSigma: 1 }),
          (r) => {
            const c = r.completeness;
            expect(Math.abs(c.scoreDifference)).toBeGreaterThan(0.05);
            expect(c.relativeGap).toBeLessThan(0.01);
            expect(values(tf.sum(r.attributions))[0]).toBeCloseTo(c.attributionSum, 4);
          },
        );
      }
    }
    // One trapezoid interval leaves a visible gap: the check measures something.
    await checked(
      () => integratedGradients(nonlin.f, x, 2, { steps: 1, rule: 'trapezoid' }),
      (r) => expect(r.completeness.relativeGap).toBeGreaterThan(0.01),
    );
    // Batches give the same attributions.
    const one = await integratedGradients(nonlin.f, x, 2, { steps: 8 });
    await checked(
      () => integratedGradients(nonlin.f, x, 2, { steps: 8, batchSize: 5 }),
      (many) => {
        expect(many.batchSize).toBe(5);
        expect(maxAbsDiff(values(many.attributions), values(one.attributions))).toBeLessThan(1e-5);
      },
    );
    one.dispose();
  });
});
