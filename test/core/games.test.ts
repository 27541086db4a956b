// Both games, for every class of a real trained multi-class model (the MNIST
// fixture, 10 classes), with the defense on: not one lucky class.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { beforeAll, expect, it } from 'vitest';
import { explain, type Explanation } from '../../src';
import { describeEachBackend } from '../backends';
import { loadMnistModel, mnistDigit } from '../fixtures/mnist';

const CLASSES = Array.from({ length: 10 }, (_, c) => c);
/** The fixture stores two digits per class, in class order. */
const digitOf = (c: number) => mnistDigit(2 * c);

/**
 * The objective went down: the loss at one fixed lambda (the returned one),
 * averaged over the last 5 steps, is below the first step's. (The recorded
 * loss itself may rise while the automatic lambda grows.)
 */
function lossWentDown(r: Explanation): boolean {
  const sparsity = (h: Explanation['history'][number]) => (r.game === 'preservation' ? h.l1 : 1 - h.l1);
  const atLambda = (h: Explanation['history'][number]) => h.loss - h.lambda * sparsity(h) + r.lambda * sparsity(h);
  const tail = r.history.slice(-5);
  return tail.reduce((s, h) => s + atLambda(h), 0) / tail.length < atLambda(r.history[0]!);
}

describeEachBackend('the two games on every class of a trained classifier', () => {
  let model: LayersModel;
  beforeAll(async () => {
    model = await loadMnistModel();
  });

  it.each(CLASSES)('preservation keeps the score of class %i with a much smaller mask', async (c) => {
    const { x, label } = digitOf(c);
    expect(label).toBe(c);
    const before = tf.memory().numTensors;
    const r = await explain(model, x, c, { steps: 120 });
    expect(r.gatedOutputs).toBe(7); // 3 activations and 4 layer outputs
    expect(lossWentDown(r)).toBe(true);
    // The automatic lambda's goal: at most 0.01 below the image's score (a little slack
    // for the unmodified model's fused kernels versus the traced pass).
    expect(r.scores.explanation).toBeGreaterThanOrEqual(r.scores.image - 0.011);
    expect(r.maskMean).toBeLessThan(0.25);
    r.dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(before - 1);
  });

  it.each(CLASSES)('deletion drives the score of class %i down by removing a small part', async (c) => {
    const { x } = digitOf(c);
    const r = await explain(model, x, c, { game: 'deletion', steps: 150 });
    expect(lossWentDown(r)).toBe(true);
    expect(r.scores.explanation).toBeLessThan(0.5 * r.scores.image);
    expect(r.scores.explanation).toBeLessThanOrEqual(r.goal!.score + 1e-3);
    // Deleted mass: the saliency of deletion is 1 - m; well under half the image is removed
    // (at most 0.251 over the ten digits with the mean reference).
    expect(1 - r.maskMean).toBeLessThan(0.3);
    r.dispose();
    x.dispose();
  });
});
