// Occlusion on a model that only looks at one region: zero saliency wherever
// no covering patch touches the region; batching with fallback to 1.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { occlusion } from '../../src/baselines';
import { describeEachBackend } from '../backends';
import { checked, maxAbsDiff, rejects } from './helpers';
import { seeded, values } from './models';

const S = 16;

/** Softmax of [0, sum of x over rows/cols [0, 4)]: only the top-left 4 x 4 region matters. Handles batches. */
const regionModel = (x: tf.Tensor4D) =>
  tf.tidy(() => {
    const s = tf.reshape(tf.sum(tf.slice(x, [0, 0, 0, 0], [x.shape[0], 4, 4, 3]), [1, 2, 3]), [-1, 1]);
    return tf.softmax(tf.concat([tf.zerosLike(s), tf.mul(s, 0.1)], 1));
  });

/** The same model, written for batch 1 only (it throws on a batch). */
const singleOnly = (x: tf.Tensor4D) => {
  if (x.shape[0] !== 1) throw new Error('batch 1 only');
  return regionModel(x);
};

describeEachBackend('occlusion', () => {
  let x: tf.Tensor3D;
  beforeAll(() => {
    x = seeded([S, S, 3], 21, 0.2, 1) as tf.Tensor3D;
  });
  afterAll(() => x.dispose());

  it('gives zero saliency wherever no covering patch touches the region the model looks at', async () => {
    let first: Float32Array | undefined;
    await checked(
      () => occlusion(regionModel, x, 1, { patchSize: 4, stride: 2 }),
      (r) => {
        expect(r.patchSize).toBe(4);
        expect(r.stride).toBe(2);
        expect(r.evaluations).toBe(49);
        expect(r.batchSize).toBe(16);
        expect(r.score).toBe('probability');
        const s = values(r.saliency);
        const d = values(r.scoreDrop);
        first = s.slice();
        for (let y = 0; y < S; y++) {
          for (let c = 0; c < S; c++) {
            // Pixel (y, c) is covered by patches starting at even positions in [y - 3, y]; one touches rows/cols < 4 iff y <= 5.
            const touches = y <= 5 && c <= 5;
            if (!touches) {
              expect(s[y * S + c]).toBe(0);
              expect(d[y * S + c]).toBe(0);
            } else if (y < 4 && c < 4) expect(s[y * S + c]).toBeGreaterThan(0);
          }
        }
        expect(Math.max(...s)).toBeCloseTo(1, 6);
      },
    );
    // A model that cannot take batches falls back to batch 1 with the same result.
    await checked(
      () => occlusion(singleOnly, x, 1, { patchSize: 4, stride: 2 }),
      (r) => {
        expect(r.batchSize).toBe(1);
        expect(maxAbsDiff(values(r.saliency), first!)).toBeLessThan(1e-6);
      },
    );
  });

  it('defaults: patch min(H,W)/8, stride patch/2, edge-aligned positions; a constant reference; input untouched', async () => {
    const copy = Array.from(values(x));
    await checked(
      () => occlusion(regionModel, x, 1, { reference: 0.5, batchSize: 5 }),
      (r) => {
        expect(r.patchSize).toBe(2);
        expect(r.stride).toBe(1);
        expect(r.evaluations).toBe(15 * 15);
        expect(r.batchSize).toBe(5);
        // Occluding a 2 x 2 patch inside the region with 0.5 changes the sum by sum(0.5 - x) over it.
        const xv = values(x);
        const sumRegion = (v: (i: number) => number) => {
          let t = 0;
          for (let y = 0; y < 4; y++) for (let c = 0; c < 4; c++) for (let k = 0; k < 3; k++) t += v((y * S + c) * 3 + k);
          return t;
        };
        const p = (s: number) => 1 / (1 + Math.exp(-0.1 * s));
        const base = sumRegion((i) => xv[i]!);
        // Pixel (0, 0) is covered by the patch at (0, 0) only.
        let patch = 0;
        for (const [y, c] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) for (let k = 0; k < 3; k++) patch += 0.5 - xv[(y * S + c) * 3 + k]!;
        expect(values(r.scoreDrop)[0]).toBeCloseTo(p(base) - p(base + patch), 5);
      },
    );
    expect(Array.from(values(x))).toEqual(copy);
  });

  it('rejects bad options naming occlusion and the option', async () => {
    await rejects(() => occlusion(regionModel, x, 1, { patchSize: 17 }), /Error in occlusion: options\.patchSize must be at most the input's smaller side 16/);
    await rejects(() => occlusion(regionModel, x, 1, { stride: 0 }), /Error in occlusion: options\.stride must be a positive integer/);
    await rejects(() => occlusion(regionModel, x, 1, { reference: 'grey' as never }), /Error in occlusion: options\.reference must be 'zero', 'mean', 'blur', 'noise', a finite number or one per channel, or a tensor, got "grey"/);
    await rejects(() => occlusion(regionModel, x, 1, { batchsize: 2 } as never), /did you mean 'batchSize'/);
    await rejects(() => occlusion(regionModel, x, 1, { score: 'logit' }), /Error in occlusion: options\.score is 'logit' but the model's output is read as probabilities/);
  });
});
