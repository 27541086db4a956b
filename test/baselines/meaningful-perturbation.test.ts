// Meaningful Perturbation: the deletion mask lowers the score by deleting the
// evidence, is smooth (lower total variation than a random mask of the same
// mean) and is a low-resolution mask upsampled bilinearly.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { meaningfulPerturbation } from '../../src/baselines';
import { bilinearMatrix, resizeBilinear2d } from '../../src/baselines/common';
import { describeEachBackend } from '../backends';
import { checked, maxAbsDiff, rejects } from './helpers';
import { blobImage, seeded, topLeftMass, values } from './models';

const S = 64;

/**
 * Softmax of [0, 20 * (mean of x over rows/cols [4, 16) - 0.89)]: class 1 is
 * the bright blob there (p = 0.90 on the image, near 0 once it is blurred away).
 */
const blobModel = (x: tf.Tensor4D) =>
  tf.tidy(() => {
    const m = tf.reshape(tf.mean(tf.slice(x, [0, 4, 4, 0], [x.shape[0], 12, 12, 3]), [1, 2, 3]), [-1, 1]);
    return tf.softmax(tf.concat([tf.zerosLike(m), tf.mul(tf.sub(m, 0.89), 20)], 1));
  });

/** Mean over pixels of |dx|^3 + |dy|^3 of a [H,W] map (host). */
function tv3(map: Float32Array, H: number, W: number): number {
  let t = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (x + 1 < W) t += Math.abs(map[y * W + x + 1]! - map[y * W + x]!) ** 3;
      if (y + 1 < H) t += Math.abs(map[(y + 1) * W + x]! - map[y * W + x]!) ** 3;
    }
  }
  return t / (H * W);
}

describeEachBackend('meaningfulPerturbation', (backend) => {
  let image: tf.Tensor4D;
  beforeAll(() => {
    image = blobImage(S, 4, 4, 12, 0.1);
  });
  afterAll(() => image.dispose());

  it('deletion: lowers the score by deleting the blob, with a smooth, upsampled 8 x 8 mask', async () => {
    await checked(
      () => meaningfulPerturbation(blobModel, image, 1, { steps: 100 }),
      (r) => {
        expect(r.game).toBe('deletion');
        expect(r.scores.image).toBeCloseTo(0.9, 2);
        expect(r.scores.perturbed).toBeLessThan(0.5 * r.scores.image);
        expect(r.history.length).toBe(100);
        expect(r.lowResMask.shape).toEqual([8, 8]);
        expect(r.mask.shape).toEqual([S, S]);
        // The full mask is the low-resolution mask upsampled x8.
        expect(maxAbsDiff(values(r.mask), values(resizeBilinear2d(r.lowResMask, S, S)))).toBeLessThan(1e-6);
        const m = values(r.mask);
        const s = values(r.saliency);
        expect(maxAbsDiff(s, m.map((v) => 1 - v))).toBeLessThan(1e-6);
        expect(Math.min(...m)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...m)).toBeLessThanOrEqual(1);
        // What was deleted is the blob's quadrant.
        expect(topLeftMass(r.saliency)).toBeGreaterThan(0.6);
        // Smooth: lower total variation than a random mask with the same mean.
        const mean = m.reduce((a, b) => a + b, 0) / m.length;
        const random = values(tf.clipByValue(tf.add(seeded([S, S], 9, -0.5, 0.5), mean), 0, 1));
        expect(tv3(m, S, S)).toBeLessThan(0.1 * tv3(random, S, S));
      },
    );
  });

  it('preservation keeps the score with part of the image; the saliency is the mask', async () => {
    await checked(
      () => meaningfulPerturbation(blobModel, image, 1, { game: 'preservation', steps: 60, l1: 2e-4 }),
      (r) => {
        expect(r.scores.perturbed).toBeGreaterThan(0.5);
        expect(maxAbsDiff(values(r.saliency), values(r.mask))).toBe(0);
        expect(values(tf.mean(r.mask))[0]).toBeLessThan(0.9);
      },
    );
  });

  it(`bilinearMatrix matches tf.image.resizeBilinear with half-pixel centres [${backend}]`, () => {
    tf.tidy(() => {
      const low = seeded([1, 4, 5, 1], 4) as tf.Tensor4D;
      const expected = tf.image.resizeBilinear(low, [32, 40], false, true);
      const ours = tf.matMul(tf.matMul(bilinearMatrix(32, 4), tf.reshape(low, [4, 5])), bilinearMatrix(40, 5), false, true);
      expect(maxAbsDiff(values(ours), values(expected))).toBeLessThan(1e-5);
    });
  });

  it('reports progress, honours an abort signal, and rejects bad options; nothing leaks', async () => {
    const steps: number[] = [];
    await checked(
      () => meaningfulPerturbation(blobModel, image, 1, { steps: 3, onStep: (rec) => void steps.push(rec.step) }),
      (r) => expect(r.history.map((h) => h.step)).toEqual([1, 2, 3]),
    );
    expect(steps).toEqual([1, 2, 3]);
    const controller = new AbortController();
    await rejects(
      () => meaningfulPerturbation(blobModel, image, 1, { steps: 50, onStep: (rec) => (rec.step === 2 ? controller.abort() : undefined), signal: controller.signal }),
      /abort/i,
    );
    await rejects(() => meaningfulPerturbation(blobModel, image, 1, { tvExponent: 0.5 }), /Error in meaningfulPerturbation: options\.tvExponent must be a finite number >= 1/);
    await rejects(() => meaningfulPerturbation(blobModel, image, 1, { init: 2 }), /Error in meaningfulPerturbation: options\.init must be a finite number >= 0 and <= 1/);
    await rejects(() => meaningfulPerturbation(blobModel, image, 1, { score: 'logit' as never }), /Error in meaningfulPerturbation: options\.score must be one of 'probability', 'log-probability'/);
    await rejects(
      () => meaningfulPerturbation(blobModel, image, 1, { classTerm: 'logit' as never }),
      /Error in meaningfulPerturbation: options\.classTerm must be one of 'auto', 'score', 'log-complement'/,
    );
    await rejects(
      () => meaningfulPerturbation(blobModel, image, 1, { game: 'preservation', classTerm: 'log-complement' }),
      /Error in meaningfulPerturbation: options\.classTerm is 'log-complement', which only the deletion game uses/,
    );
    await rejects(() => meaningfulPerturbation(blobModel, image, 1, { game: 'generation' as never }), /Error in meaningfulPerturbation: options\.game must be one of 'deletion', 'preservation'/);
    await rejects(() => meaningfulPerturbation(blobModel, image, 1, { lambda: 1 } as never), /Error in meaningfulPerturbation: options\.lambda is not a known option/);
  });
});
