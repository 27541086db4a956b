import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { composeExplanation, createMask } from '../../src/core/mask';
import { gaussianBlur, makeReference } from '../../src/util/reference';
import { describeEachBackend } from '../backends';

describeEachBackend('mask', () => {
  it('starts at ones and clips into [0, 1] on projection', async () => {
    const mask = createMask([1, 2, 2, 3]);
    expect(Array.from(await mask.values().data()).every((v) => v === 1)).toBe(true);
    mask.param.assign(tf.tensor4d([-1, 0.5, 2, 0, 1, 0.25, 3, -3, 0.1, 0.9, 1.5, -0.5], [1, 2, 2, 3]));
    mask.project();
    expect(Array.from(await mask.values().data())).toEqual([0, 0.5, 1, 0, 1, 0.25, 1, 0, 0.1, 0.9, 1, 0].map(Math.fround));
    mask.dispose();
    mask.dispose();
  });

  it('sigmoid parameterisation starts near one and stays in (0, 1) without projection', async () => {
    const mask = createMask([2, 2, 1], { parameterization: 'sigmoid' });
    const v = await mask.values().data();
    expect(Math.min(...v)).toBeGreaterThan(0.998);
    mask.assign(tf.tensor3d([0, 0.25, 0.75, 1], [2, 2, 1]));
    const w = await mask.values().data();
    expect(w[1]).toBeCloseTo(0.25, 4);
    expect(w[0]).toBeGreaterThan(0);
    expect(w[3]).toBeLessThan(1);
    mask.dispose();
  });

  it('composes m*x + (1-m)*r, exactly x at m = 1 and exactly r at m = 0', async () => {
    const x = tf.randomNormal([1, 3, 3, 2], 0, 1, 'float32', 1);
    const r = tf.randomNormal([1, 3, 3, 2], 0, 1, 'float32', 2);
    const ones = tf.onesLike(x);
    expect(Array.from(await composeExplanation(ones, x, r).data())).toEqual(Array.from(await x.data()));
    expect(Array.from(await composeExplanation(tf.zerosLike(x), x, r).data())).toEqual(Array.from(await r.data()));
    const half = await composeExplanation(tf.fill(x.shape, 0.5), x, null).data();
    const xs = await x.data();
    half.forEach((v, i) => expect(v).toBeCloseTo(xs[i]! / 2, 6));
  });

  it('builds references: zero is null, mean is per channel, blur keeps constants and smooths, tensors are copied', async () => {
    const x = tf.tensor4d([0, 10, 2, 10, 4, 10, 6, 10], [1, 2, 2, 2]);
    expect(makeReference(x, 'zero')).toBeNull();
    const mean = await makeReference(x, 'mean')!.data();
    expect(Array.from(mean)).toEqual([3, 10, 3, 10, 3, 10, 3, 10]);
    const constant = tf.fill([1, 8, 8, 1], 0.5) as tf.Tensor4D;
    const blurred = await gaussianBlur(constant, 2).data();
    blurred.forEach((v) => expect(v).toBeCloseTo(0.5, 5));
    const spike = tf.tensor4d(Array.from({ length: 81 }, (_, i) => (i === 40 ? 1 : 0)), [1, 9, 9, 1]);
    const b = await gaussianBlur(spike, 1).data();
    expect(b[40]).toBeLessThan(0.5);
    expect(b[41]).toBeGreaterThan(0);
    const user = tf.ones([2, 2, 2]);
    const copy = makeReference(x, user)!;
    expect(copy.shape).toEqual([1, 2, 2, 2]);
    copy.dispose();
    expect(user.isDisposed).toBe(false);
    expect(() => makeReference(x, tf.ones([3, 2, 2]))).toThrow(/options.reference must have the input's shape/);
    const n1 = await makeReference(x, 'noise', { seed: 3 })!.data();
    const n2 = await makeReference(x, 'noise', { seed: 3 })!.data();
    expect(Array.from(n1)).toEqual(Array.from(n2));
  });
});
