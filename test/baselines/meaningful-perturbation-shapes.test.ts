// Meaningful Perturbation's defaults on the known-evidence fixture models
// (test/fixtures/shapes), whose evidence is known: the shape. On images the
// model is sure of (probability ~1), the deletion mask used to stay at its
// start (all ones: nothing deleted, the perturbed score the image's): the
// probability's gradient p (1 - p) vanished under the L1 term, which was also
// 64 times the authors'. With the defaults the mask must leave its start,
// delete the class, and delete the evidence region more than the rest.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { meaningfulPerturbation } from '../../src/baselines';
import { useShapesModels } from '../fixtures/shapes';
import { generate, SIZE } from '../../scripts/eval/known-evidence/shapes';

describe('meaningfulPerturbation defaults on the known-evidence models [wasm]', () => {
  const models = useShapesModels();

  // Tune images the models classify with probability ~1, where the old defaults left the mask at 1.
  it.each([
    ['a', 2],
    ['b', 1],
  ] as const)('model %s, tune image %i: the deletion mask leaves its start, deletes the class and the evidence', async (name, index) => {
    const im = generate('tune', index);
    const x = tf.tensor4d(im.pixels, [1, SIZE, SIZE, 3]);
    const before = tf.memory().numTensors;
    const r = await meaningfulPerturbation(models[name]!, x, im.label);
    try {
      expect(r.game).toBe('deletion');
      expect(r.scores.image).toBeGreaterThan(0.99);
      const m = (await r.mask.data()) as Float32Array;
      const low = (await r.lowResMask.data()) as Float32Array;
      // Moved: some cells are (nearly) deleted, and the mask as a whole left 1.
      expect(Math.min(...low)).toBeLessThan(0.1);
      expect(m.reduce((a, b) => a + b, 0) / m.length).toBeLessThan(0.9);
      // The blurred-out region removes the class, as in the paper.
      expect(r.scores.perturbed).toBeLessThan(0.25 * r.scores.image);
      // More of the evidence region is deleted than of the rest of the image.
      const s = (await r.saliency.data()) as Float32Array;
      let inside = 0;
      let outside = 0;
      let n = 0;
      for (let i = 0; i < s.length; i++) {
        if (im.region[i]) {
          inside += s[i]!;
          n++;
        } else outside += s[i]!;
      }
      expect(inside / n).toBeGreaterThan(outside / (s.length - n));
    } finally {
      r.dispose();
      x.dispose();
    }
    expect(tf.memory().numTensors).toBe(before - 1);
  });

  it("the paper's probability term (classTerm 'score') leaves the mask at its start on a class the model is sure of", async () => {
    const im = generate('tune', 2);
    const x = tf.tensor4d(im.pixels, [1, SIZE, SIZE, 3]);
    const r = await meaningfulPerturbation(models.a!, x, im.label, { classTerm: 'score', steps: 40 });
    try {
      // p (1 - p) ~ 0 at p ~ 1: the L1 term holds every cell in the clip at 1.
      expect(Math.min(...((await r.lowResMask.data()) as Float32Array))).toBe(1);
      expect(r.scores.perturbed).toBe(r.scores.image);
    } finally {
      r.dispose();
      x.dispose();
    }
  });
});
