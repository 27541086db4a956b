// explainBatch(): several explanations in one batched run. Each must be the
// explanation explain() gives for it alone (own optimiser, lambda, early
// stopping and guard), on the MNIST fixture, for top-k classes of one image
// and for one class per image of a batch.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { beforeAll, expect, it } from 'vitest';
import { explain, explainBatch, type Explanation, FgvisArgumentError, FgvisModelError } from '../../src';
import { describeEachBackend } from '../backends';
import { loadMnistModel, mnistDigit } from '../fixtures/mnist';

/** Largest absolute difference of two tensors' values. */
async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
}

/** The batched explanation matches the single one: same class, steps, guard actions; masks and scores close. */
async function expectSame(batched: Explanation, single: Explanation): Promise<void> {
  expect(batched.target).toBe(single.target);
  expect(batched.steps).toBe(single.steps);
  expect(batched.backoffs).toBe(single.backoffs);
  expect(batched.history.length).toBe(single.history.length);
  expect(batched.mask.shape).toEqual(single.mask.shape);
  expect(await maxDiff(batched.mask, single.mask)).toBeLessThan(1e-3);
  expect(batched.maskMean).toBeCloseTo(single.maskMean, 4);
  expect(batched.scores.explanation).toBeCloseTo(single.scores.explanation, 3);
  expect(batched.scores.image).toBeCloseTo(single.scores.image, 5);
  expect(batched.lambda).toBeCloseTo(single.lambda, 3);
}

describeEachBackend('explainBatch', () => {
  let model: LayersModel;
  beforeAll(async () => {
    model = await loadMnistModel();
  });

  it('explains several classes of one image, each as explain() does alone, and leaves nothing behind', async () => {
    const { x, label } = mnistDigit(6);
    const probs = tf.tidy(() => model.predict(tf.expandDims(x)) as tf.Tensor);
    const order = Array.from(await probs.data()).map((p, c) => [p, c] as const).sort((a, b) => b[0] - a[0]).map(([, c]) => c);
    probs.dispose();
    expect(order[0]).toBe(label);
    const targets = [order[0]!, order[1]!, order[9]!];
    const before = tf.memory().numTensors;
    const seen = new Set<number>();
    const batched = await explainBatch(model, x, targets, { steps: 150, onStep: (_s, live) => void seen.add(live.item) });
    expect(seen).toEqual(new Set([0, 1, 2]));
    expect(batched.map((r) => r.target)).toEqual(targets);
    for (const [i, c] of targets.entries()) {
      const single = await explain(model, x, c, { steps: 150 });
      await expectSame(batched[i]!, single);
      single.dispose();
    }
    // The items stop independently (frozen rows while the others go on).
    expect(new Set(batched.map((r) => r.steps)).size).toBeGreaterThan(1);
    expect(batched[0]!.scores.explanation).toBeGreaterThanOrEqual(batched[0]!.scores.image - 0.011);
    for (const r of batched) r.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('explains one class per image of a batch, in chunks of batchSize, with the deletion game', async () => {
    const digits = [0, 5, 11].map((i) => mnistDigit(i));
    const batch = tf.stack(digits.map((d) => d.x)) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const batched = await explainBatch(model, batch, 'top', { game: 'deletion', steps: 60, batchSize: 2 });
    expect(batched).toHaveLength(3);
    for (const [i, d] of digits.entries()) {
      expect(batched[i]!.mask.shape).toEqual([1, 28, 28, 1]);
      expect(batched[i]!.target).toBe(d.label);
      const single = await explain(model, tf.slice(batch, i, 1), 'top', { game: 'deletion', steps: 60 });
      await expectSame(batched[i]!, single);
      single.dispose();
    }
    for (const r of batched) r.dispose();
    expect(tf.memory().numTensors).toBe(before + 3); // the slices given to explain() above
    tf.dispose([batch, ...digits.map((d) => d.x)]);
  });

  it('keeps the explanations independent through back-offs, with the sigmoid mask too', async () => {
    const { x } = mnistDigit(8);
    const before = tf.memory().numTensors;
    // A guard that backs off as soon as the goal is missed, and a slow lambda growth (the goal is
    // then missed late in the run, after the mask has moved): a restore happens.
    const options = { steps: 60, readEvery: 1, parameterization: 'sigmoid', autoLambda: { increase: 0.05 }, backoff: { after: 1, maxBackoffs: 8 } } as const;
    const batched = await explainBatch(model, x, [0, 4, 9], options);
    expect(batched.some((r) => r.backoffs > 0)).toBe(true);
    for (const [i, c] of [0, 4, 9].entries()) {
      const single = await explain(model, x, c, options);
      await expectSame(batched[i]!, single);
      single.dispose();
    }
    for (const r of batched) r.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('rejects bad targets and batch sizes by name, and frees everything when the model rejects a batch', async () => {
    const { x } = mnistDigit(0);
    const before = tf.memory().numTensors;
    const batch = tf.stack([x, x]);
    await expect(explainBatch(model, x, [])).rejects.toThrow(/explainBatch.*targets.*empty/);
    await expect(explainBatch(model, batch, [1, 2, 3])).rejects.toThrow(/targets.*one target per image \(2\)/);
    await expect(explainBatch(model, x, [1], { batchSize: 0 })).rejects.toThrow(FgvisArgumentError);
    await expect(explainBatch(model, x, [1], { batchSize: 0 })).rejects.toThrow(/options\.batchSize/);
    await expect(explainBatch(model, x, [11])).rejects.toThrow(/target.*\[0, 9\]/);
    await expect(explainBatch(model, x, [1], { stepz: 3 } as never)).rejects.toThrow(/did you mean 'steps'/);
    // A model that only takes one input at a time.
    const single = (e: tf.Tensor4D) => {
      if (e.shape[0] !== 1) throw new Error(`expected batch 1, got ${e.shape[0]}`);
      return model.predict(e) as tf.Tensor2D;
    };
    await expect(explainBatch(single, x, [1, 2], { steps: 3 })).rejects.toThrow(FgvisModelError);
    await expect(explainBatch(single, x, [1, 2], { steps: 3 })).rejects.toThrow(/batch of 2.*batchSize: 1/);
    const ok = await explainBatch(single, x, [1, 2], { steps: 3, batchSize: 1 });
    expect(ok).toHaveLength(2);
    for (const r of ok) r.dispose();
    batch.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('aborts mid-run with the signal reason and leaves nothing behind', async () => {
    const { x } = mnistDigit(2);
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const reason = new Error('stop');
    const run = explainBatch(model, x, [0, 1], {
      steps: 50,
      onStep: (s) => {
        if (s.step === 4) controller.abort(reason);
      },
      signal: controller.signal,
    });
    await expect(run).rejects.toBe(reason);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
