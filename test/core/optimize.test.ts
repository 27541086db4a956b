import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { adam, optimize, sgd } from '../../src/core/optimize';
import { describeEachBackend } from '../backends';

/** f(p) = sum((p - t)^2): gradient 2 (p - t). */
const quadratic = (p: tf.Variable, target: tf.Tensor) => () => ({
  grad: tf.tidy(() => tf.mul(2, tf.sub(p, target))),
  record: { loss: tf.tidy(() => tf.sum(tf.square(tf.sub(p, target))) as tf.Scalar) },
});

/** A variable that owns its data (the initial tensor is freed). */
const variable = (values: number[]) => tf.tidy(() => tf.variable(tf.tensor1d(values)));

describeEachBackend('optimize', () => {
  it("Adam's first step moves every coordinate by the learning rate against the gradient's sign", async () => {
    const p = variable([0, 0, 0]);
    const target = tf.tensor1d([1, -2, 0.001]);
    const opt = adam({ learningRate: 0.1 });
    await optimize(p, { steps: 1, optimizer: opt, computeStep: quadratic(p, target) });
    const v = await p.data();
    expect(v[0]).toBeCloseTo(0.1, 5);
    expect(v[1]).toBeCloseTo(-0.1, 5);
    expect(v[2]).toBeCloseTo(0.1, 3);
    opt.dispose();
    p.dispose();
  });

  it('SGD takes exact steps and both optimisers converge on a quadratic', async () => {
    const p = variable([1]);
    const target = tf.tensor1d([0]);
    const opt = sgd({ learningRate: 0.25 });
    await optimize(p, { steps: 1, optimizer: opt, computeStep: quadratic(p, target) });
    expect((await p.data())[0]).toBeCloseTo(0.5, 6);
    const q = variable([3, -3]);
    const a = adam({ learningRate: 0.2 });
    const { history } = await optimize(q, { steps: 200, optimizer: a, computeStep: quadratic(q, tf.tensor1d([1, 2])) });
    expect(history).toHaveLength(200);
    expect(history[199]!.loss).toBeLessThan(1e-3);
    expect(history[199]!.loss).toBeLessThan(history[0]!.loss);
    tf.dispose([p, q, target]);
    opt.dispose();
    a.dispose();
  });

  it('reports every step in order, reads in batches, projects, stops early, and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const p = variable([5]);
    const target = tf.tensor1d([0]);
    const seen: number[] = [];
    const projected: number[] = [];
    const opt = sgd({ learningRate: 0.1 });
    const res = await optimize(p, {
      steps: 50,
      optimizer: opt,
      readEvery: 7,
      computeStep: quadratic(p, target),
      afterUpdate: (s) => projected.push(s),
      onStep: async (r) => {
        seen.push(r.step);
      },
      shouldStop: (h) => h.length >= 20,
    });
    // The rule is checked when a batch is read (every 7 steps): it first holds at step 21.
    expect(res.steps).toBe(21);
    expect(seen).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(projected).toHaveLength(21);
    tf.dispose([p, target]);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects with the signal reason on abort between steps, leaking nothing', async () => {
    const before = tf.memory().numTensors;
    const p = variable([5]);
    const target = tf.tensor1d([0]);
    const controller = new AbortController();
    const opt = adam();
    const reason = new Error('stop now');
    const run = optimize(p, {
      steps: 100,
      optimizer: opt,
      readEvery: 3,
      computeStep: quadratic(p, target),
      afterUpdate: (s) => {
        if (s === 5) controller.abort(reason);
      },
      signal: controller.signal,
    });
    await expect(run).rejects.toBe(reason);
    tf.dispose([p, target]);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('validates its arguments', async () => {
    const p = variable([0]);
    await expect(optimize(p, { steps: 0, optimizer: sgd(), computeStep: quadratic(p, p) })).rejects.toThrow(/options.steps must be a positive integer, got 0/);
    expect(() => adam({ learningRate: 0 })).toThrow(/learningRate must be a positive finite number, got 0/);
    expect(() => sgd({ momentum: 1 })).toThrow(/momentum must be in \[0, 1\)/);
    p.dispose();
  });
});
