// The paper's adversarial-evidence effect (Fig. 4) on a trained classifier: explain
// the least likely class. Without the defense the optimiser builds evidence the
// image never had and the score climbs towards 1; with it the explanation stays
// near the score of the empty (all-reference) image, the honest floor with 10 classes.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { beforeAll, expect, it } from 'vitest';
import { explain } from '../../src';
import { describeEachBackend } from '../backends';
import { loadMnistModel, mnistDigit } from '../fixtures/mnist';

/** One digit per class. */
const DIGITS = Array.from({ length: 10 }, (_, c) => 2 * c);
// The paper's setting: r = 0, which on MNIST is the digits' own black background. (With the default
// mean reference the undefended attack still wins on 8 of these 10 digits and the defended median is
// 0.085 against an empty-image 0.094.)
const OPTIONS = { lambda: 0.05, steps: 200, earlyStop: false, reference: 'zero' } as const;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

describeEachBackend('the defense against adversarial evidence', () => {
  let model: LayersModel;
  beforeAll(async () => {
    model = await loadMnistModel();
  });

  it('keeps the least likely class near the empty image score, where the undefended run reaches it', async () => {
    const rows: { digit: number; empty: number; defended: number; undefended: number }[] = [];
    for (const i of DIGITS) {
      const { x } = mnistDigit(i);
      const p = tf.tidy(() => model.predict(tf.expandDims(x)) as tf.Tensor);
      const probs = Array.from(await p.data());
      p.dispose();
      const least = probs.indexOf(Math.min(...probs));
      const defended = await explain(model, x, least, { ...OPTIONS, defense: true });
      const undefended = await explain(model, x, least, { ...OPTIONS, defense: false });
      expect(defended.gatedOutputs).toBe(7); // 3 activations and 4 layer outputs
      expect(undefended.gatedOutputs).toBe(0);
      rows.push({ digit: i, empty: defended.scores.reference, defended: defended.scores.explanation, undefended: undefended.scores.explanation });
      defended.dispose();
      undefended.dispose();
      x.dispose();
    }
    console.table(rows);
    const empty = median(rows.map((r) => r.empty));
    // Undefended: adversarial evidence, the score climbs towards 1 on (nearly) every digit.
    expect(median(rows.map((r) => r.undefended))).toBeGreaterThan(0.9);
    expect(rows.filter((r) => r.undefended > 0.5).length).toBeGreaterThanOrEqual(9);
    // Defended: the median stays near the empty image's score, and far below the undefended one.
    expect(median(rows.map((r) => r.defended))).toBeLessThan(empty + 0.15);
    expect(median(rows.map((r) => r.undefended - r.defended))).toBeGreaterThan(0.6);
  });
});
