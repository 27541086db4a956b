import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../backends';
import { energyInRegion, pearson, pointingGame, spearman, topKIntersection } from '../../src/metrics';
import { rankData } from '../../src/metrics/correlation';

describeEachBackend('pointing game and energy in region', () => {
  it('hit, miss and tolerance on a hand-made map', async () => {
    const s = tf.tensor2d([[9, 1, 1], [1, 2, 1], [1, 1, 3]]);
    const corner = [[true, false, false], [false, false, false], [false, false, false]];
    const far = [[false, false, false], [false, false, false], [false, false, true]];
    expect(await pointingGame(s, corner)).toEqual({ hit: true, point: [0, 0], maxima: 1, hits: 1 });
    expect((await pointingGame(s, far)).hit).toBe(false);
    // (0,0) to (2,2) is 2.83 px away.
    expect((await pointingGame(s, far, { tolerance: 2 })).hit).toBe(false);
    expect((await pointingGame(s, far, { tolerance: 3 })).hit).toBe(true);
    // A tensor region (non-zero = inside), int32.
    const r = tf.tensor2d([[0, 0, 0], [0, 1, 0], [0, 0, 0]], undefined, 'int32');
    expect((await pointingGame(s, r)).hit).toBe(false);
    expect((await pointingGame(s, r, { tolerance: 1.5 })).hit).toBe(true);
    tf.dispose([s, r]);
  });

  it('ties: a flat map only hits if every maximum is in the region', async () => {
    const flat = tf.ones([2, 2]) as tf.Tensor2D;
    expect(await pointingGame(flat, [[1, 0], [0, 0]])).toEqual({ hit: false, point: [0, 0], maxima: 4, hits: 1 });
    expect((await pointingGame(flat, [[1, 1], [1, 1]])).hit).toBe(true);
    flat.dispose();
  });

  it('energy is the share of saliency mass inside the region', async () => {
    const s = tf.tensor2d([[1, 2], [3, 4]]);
    expect(await energyInRegion(s, [[true, false], [false, true]])).toBeCloseTo(0.5, 7); // (1 + 4) / 10
    expect(await energyInRegion(s, [[0, 1], [0, 0]])).toBeCloseTo(0.2, 7);
    const zero = tf.zeros([2, 2]) as tf.Tensor2D;
    expect(await energyInRegion(zero, [[1, 0], [0, 0]])).toBe(0);
    tf.dispose([s, zero]);
  });

  it('rejects bad arguments clearly', async () => {
    const s = tf.tensor2d([[1, -2], [3, 4]]);
    await expect(energyInRegion(s, [[1, 0], [0, 0]])).rejects.toThrow(/energyInRegion: saliency must be non-negative, got -2 at \[0,1\]/);
    await expect(pointingGame(s, [[1, 0]])).rejects.toThrow(/pointingGame: region must have 2 rows/);
    await expect(pointingGame(s, [[0, 0], [0, 0]])).rejects.toThrow(/region is empty/);
    await expect(pointingGame(s, [[1, 0], [0, 0]], { tolerence: 3 } as never)).rejects.toThrow(/options.tolerence is not a known option \(did you mean 'tolerance'\?\)/);
    await expect(pointingGame(s, [[1, 0], [0, 0]], { tolerance: -1 })).rejects.toThrow(/options.tolerance must be a non-negative/);
    const r3 = tf.ones([2, 2, 1]);
    await expect(pointingGame(s, r3)).rejects.toThrow(/region must have the saliency's shape \[2,2\], got \[2,2,1\]/);
    await expect(pointingGame(r3 as never, [[1, 0], [0, 0]])).rejects.toThrow(/saliency must be a Tensor2D/);
    tf.dispose([s, r3]);
  });
});

describeEachBackend('correlations', () => {
  it('average ranks for ties', () => {
    expect(Array.from(rankData([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    expect(Array.from(rankData([3, 3, 3]))).toEqual([2, 2, 2]);
  });

  it('Spearman on small vectors with ties, by hand', () => {
    // ranks a = 1..5, b = [1, 2, 3.5, 5, 3.5]: sum dx dy = 8, sum dx^2 = 10, sum dy^2 = 9.5.
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(8 / Math.sqrt(95), 12);
    // ranks [1.5, 1.5, 3.5, 3.5] vs [1.5, 3.5, 1.5, 3.5]: uncorrelated.
    expect(spearman([1, 1, 2, 2], [1, 2, 1, 2])).toBeCloseTo(0, 12);
    expect(spearman([1, 2, 3], [30, 20, 10])).toBeCloseTo(-1, 12);
    expect(spearman(new Float32Array([0.1, 0.5, 0.2]), [1, 100, 2])).toBeCloseTo(1, 12); // monotone, not linear
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    // dx = -1, 0, 1; dy = -13/6, -1/6, 14/6: r = 4.5 / sqrt(2 * 61 / 6).
    expect(pearson([1, 2, 3], [2, 4, 6.5])).toBeCloseTo(4.5 / Math.sqrt((2 * 61) / 6), 12);
  });

  it('top-k intersection', () => {
    expect(topKIntersection([5, 4, 3, 2, 1, 0, 0, 0, 0, 0], [4, 5, 0, 0, 0, 0, 0, 0, 0, 3], 0.3)).toBeCloseTo(2 / 3, 12);
    expect(topKIntersection([1, 2, 3, 4], [1, 2, 3, 4])).toBe(1);
  });

  it('rejects bad vectors', () => {
    expect(() => spearman([1, 2], [1, 2, 3])).toThrow(/spearman: b must have the length of a \(2\), got 3/);
    expect(() => spearman([1, NaN], [1, 2])).toThrow(/spearman: a must contain finite numbers/);
    expect(() => spearman(tf.scalar(1) as never, [1])).toThrow(/read a tensor with await t.data\(\) first/);
    expect(() => spearman([1], [1])).toThrow(/at least 2 values/);
  });
});
