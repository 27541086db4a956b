import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { buildLoss } from '../../src/core/loss';
import { describeEachBackend } from '../backends';

describeEachBackend('buildLoss', () => {
  const p = [0.1, 0.6, 0.3];
  const logProbs = () => tf.log(tf.tensor2d([p])) as tf.Tensor2D;

  it('signs the class terms by game', async () => {
    const v = async (t: tf.Scalar) => (await t.data())[0]!;
    expect(await v(buildLoss({ target: 1 }).classTerm(logProbs()))).toBeCloseTo(-Math.log(0.6), 5);
    expect(await v(buildLoss({ target: 1, classTerm: 'score' }).classTerm(logProbs()))).toBeCloseTo(-0.6, 5);
    expect(await v(buildLoss({ target: 1, game: 'deletion', classTerm: 'score' }).classTerm(logProbs()))).toBeCloseTo(0.6, 5);
    // Deletion's default: maximise log(1 - p_c), i.e. minimise -log(1 - p_c).
    expect(await v(buildLoss({ target: 1, game: 'deletion' }).classTerm(logProbs()))).toBeCloseTo(-Math.log(0.4), 5);
    expect(await v(buildLoss({ target: 0, classTerm: 'log-complement' }).classTerm(logProbs()))).toBeCloseTo(Math.log(0.9), 5);
    expect(await v(buildLoss({ target: 2, classTerm: 'log-complement' }).classTerm(logProbs()))).toBeCloseTo(Math.log(0.7), 5);
    expect(await v(buildLoss({ target: 1, game: 'deletion', classTerm: 'log-score' }).classTerm(logProbs()))).toBeCloseTo(Math.log(0.6), 5);
    // Log-odds: -log(p / (1 - p)); its gradient in the target's logit is -1 even when p saturates.
    expect(await v(buildLoss({ target: 1, classTerm: 'log-odds' }).classTerm(logProbs()))).toBeCloseTo(-Math.log(0.6 / 0.4), 5);
    const saturated = (z: tf.Tensor) => buildLoss({ target: 0, classTerm: 'log-odds' }).classTerm(tf.logSoftmax(tf.reshape(z, [1, 3])) as tf.Tensor2D);
    const g = tf.grad(saturated)(tf.tensor1d([12, 0, -1]));
    const gv = await g.data();
    expect(gv[0]).toBeCloseTo(-1, 4);
    const gLog = tf.grad((z: tf.Tensor) => buildLoss({ target: 0 }).classTerm(tf.logSoftmax(tf.reshape(z, [1, 3])) as tf.Tensor2D))(tf.tensor1d([12, 0, -1]));
    expect(Math.abs((await gLog.data())[0]!)).toBeLessThan(1e-4); // -log p has (almost) no gradient left there
    tf.dispose([g, gLog]);
    const q = tf.tensor2d([[0.2, 0.5, 0.3]]);
    const ce = -(0.2 * Math.log(0.1) + 0.5 * Math.log(0.6) + 0.3 * Math.log(0.3));
    expect(await v(buildLoss({ target: 0, classTerm: 'cross-entropy', imageProbs: q }).classTerm(logProbs()))).toBeCloseTo(ce, 4);
  });

  it('sparsity is mean(m) to preserve and mean(1 - m) to delete; total adds lambda times it', async () => {
    const m = tf.tensor1d([0, 0.5, 1, 1]);
    expect((await buildLoss({ target: 0 }).sparsity(m).data())[0]).toBeCloseTo(0.625);
    expect((await buildLoss({ target: 0, game: 'deletion' }).sparsity(m).data())[0]).toBeCloseTo(0.375);
    const loss = buildLoss({ target: 1 });
    const total = (await loss.total(logProbs(), m, 2).data())[0]!;
    expect(total).toBeCloseTo(-Math.log(0.6) + 2 * 0.625, 5);
    const g = await tf.grad((t: tf.Tensor) => loss.sparsity(t))(m).data();
    expect(Array.from(g)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('rejects bad options', () => {
    expect(() => buildLoss({ target: 1, game: 'keep' as never })).toThrow(/options.game must be 'preservation' or 'deletion', got "keep"/);
    expect(() => buildLoss({ target: -1 })).toThrow(/options.target must be a non-negative integer/);
    expect(() => buildLoss({ target: 0, classTerm: 'cross-entropy' })).toThrow(/imageProbs is required/);
  });
});
