/**
 * Results support `using` (explicit resource management): `[Symbol.dispose]()`
 * calls `dispose()`, so the tensors are freed at the end of the block, also when
 * the block throws. Node 20 has `Symbol.dispose`; fgvis falls back to
 * `Symbol.for('Symbol.dispose')` where a runtime has none. The same with the
 * TypeScript compiler's own downlevel emit (TS 5.9, ES2022, lib
 * esnext.disposable) is checked against the built package by
 * scripts/check-package.mjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { explain, explainBatch } from '../../src';
import { gradientSaliency, smoothGrad } from '../../src/baselines';
import { adversarialEvidenceTest, explanationAsInputTest, randomizationSanityCheck } from '../../src/metrics';
import { disposable, disposeSymbol } from '../../src/util/attribution';
import { useBackend } from '../backends';

/** A small conv net as a function model with fixed weights. */
function net(classes = 3) {
  const w1 = tf.randomNormal([3, 3, 3, 4], 0, 0.6, 'float32', 21) as tf.Tensor4D;
  const w2 = tf.randomNormal([4, classes], 0, 1, 'float32', 22) as tf.Tensor2D;
  const model = (x: tf.Tensor4D) =>
    tf.tidy(() => tf.softmax(tf.matMul(tf.reshape(tf.mean(tf.relu(tf.conv2d(x, w1, 1, 'same')), [1, 2]), [-1, 4]), w2)));
  return { model, dispose: () => tf.dispose([w1, w2]) };
}

describe('results support `using`', () => {
  beforeAll(() => useBackend('cpu'));

  it('Symbol.dispose is the runtime\'s own here (Node 20)', () => {
    expect(typeof Symbol.dispose).toBe('symbol');
    expect(disposeSymbol()).toBe(Symbol.dispose);
  });

  it('`using r = await explain(...)` frees every tensor of the result at the end of the block', async () => {
    const { model, dispose } = net();
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    let inside = 0;
    {
      using r = await explain(model, x, 'top', { steps: 5 });
      inside = tf.memory().numTensors;
      expect(r.mask.isDisposed).toBe(false);
      expect(typeof r[Symbol.dispose]).toBe('function');
    }
    expect(inside).toBeGreaterThan(before);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    dispose();
  });

  it('a throwing block still frees the result, and [Symbol.dispose] is not an enumerable key', async () => {
    const { model, dispose } = net();
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    let keys: (string | symbol)[] = [];
    await expect(
      (async () => {
        using r = await gradientSaliency(model, x, 'top');
        keys = Reflect.ownKeys({ ...r });
        throw new Error('boom');
      })(),
    ).rejects.toThrow('boom');
    expect(tf.memory().numTensors).toBe(before);
    expect(keys).not.toContain(Symbol.dispose);
    x.dispose();
    dispose();
  });

  it('explainBatch results, baselines and the metric results that keep tensors are all disposable', async () => {
    const { model, dispose } = net();
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    {
      const batch = await explainBatch(model, x, [0, 1], { steps: 4 });
      using a = batch[0]!;
      using b = batch[1]!;
      using sg = await smoothGrad(model, x, 'top', { samples: 2 });
      using ev = await adversarialEvidenceTest(model, x, { explain: { steps: 4 }, keepExplanations: true });
      using ei = await explanationAsInputTest(model, model, x, 'top', { explain: { steps: 4 }, keepExplanation: true });
      expect([a, b, sg, ev, ei].every((r) => typeof r[Symbol.dispose] === 'function')).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(typeof randomizationSanityCheck).toBe('function');
    x.dispose();
    dispose();
  });

  it('without a runtime Symbol.dispose, fgvis uses Symbol.for("Symbol.dispose")', () => {
    // Node's Symbol.dispose cannot be removed; the lookup takes the Symbol object as a parameter.
    expect(disposeSymbol({})).toBe(Symbol.for('Symbol.dispose'));
    expect(disposeSymbol({ dispose: Symbol.dispose })).toBe(Symbol.dispose);
    let freed = 0;
    const r = disposable({ dispose: () => freed++ });
    r[Symbol.dispose]();
    r[Symbol.dispose]();
    expect(freed).toBe(2); // dispose() itself is what makes a result's disposal idempotent
  });
});
