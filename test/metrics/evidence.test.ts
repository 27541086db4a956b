import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { explain } from '../../src/core/explain';
import { adversarialEvidenceTest, explanationAsInputTest, ADVERSARIAL_EVIDENCE_DEFAULTS } from '../../src/metrics';
import { describeEachBackend } from '../backends';
import { fixtureImage } from '../fixtures/graph-model';

/** A tiny ReLU MLP on [4,4,2] inputs with 3 logits, seeded weights; any batch size. */
function mlp(seed: number) {
  const w1 = tf.randomNormal([32, 8], 0, 0.5, 'float32', seed);
  const b1 = tf.randomNormal([8], 0, 0.1, 'float32', seed + 1);
  const w2 = tf.randomNormal([8, 3], 0, 1, 'float32', seed + 2);
  const f = (x: tf.Tensor4D) =>
    tf.tidy(() => {
      const h = tf.relu(tf.add(tf.matMul(tf.reshape(x, [x.shape[0], 32]), w1), b1));
      return tf.matMul(h, w2);
    });
  return { f, dispose: () => tf.dispose([w1, b1, w2]) };
}

async function probs(f: (x: tf.Tensor4D) => tf.Tensor, x: tf.Tensor): Promise<number[]> {
  const p = tf.tidy(() => tf.softmax(f(tf.reshape(x, [1, 4, 4, 2]) as tf.Tensor4D)));
  const v = Array.from(await p.data());
  p.dispose();
  return v;
}

const STEPS = { steps: 12 };
/** Every pixel set to the image's per-channel mean (explain()'s default reference). */
const meanImage = (x: tf.Tensor) => tf.tidy(() => tf.broadcastTo(tf.mean(x, [0, 1], true), x.shape));

describeEachBackend('adversarialEvidenceTest', () => {
  it('explains the least likely class; scores, floor and margin relate as defined', async () => {
    const a = mlp(1);
    const x = tf.reshape(fixtureImage([1, 4, 4, 2], 5), [4, 4, 2]);
    const before = tf.memory().numTensors;
    const r = await adversarialEvidenceTest(a.f, x, { explain: STEPS, keepExplanations: true });
    const p = await probs(a.f, x);
    const least = p.indexOf(Math.min(...p));
    expect(r.target).toBe(least);
    expect(r.numClasses).toBe(3);
    expect(r.scores.image).toBeCloseTo(p[least]!, 6);
    // The empty image is explain()'s default reference: the image's per-channel mean colour.
    const empty = meanImage(x);
    expect(r.scores.reference).toBeCloseTo((await probs(a.f, empty))[least]!, 6);
    empty.dispose();
    expect(r.margin).toBeCloseTo(r.scores.undefended - r.scores.defended, 12);
    expect(r.gatedOutputs).toBeGreaterThan(0);
    // The scores are those of the explanations on the unmodified model.
    const { defended, undefended } = r.explanations!;
    expect((await probs(a.f, defended.explanation))[least]).toBeCloseTo(r.scores.defended, 5);
    expect((await probs(a.f, undefended.explanation))[least]).toBeCloseTo(r.scores.undefended, 5);
    expect(r.maskMean.defended).toBeCloseTo(defended.maskMean, 12);
    // Same as running explain directly with the test's settings (deterministic).
    const direct = await explain(a.f, x, least, { ...ADVERSARIAL_EVIDENCE_DEFAULTS.explain, ...STEPS, defense: false });
    expect(direct.scores.explanation).toBeCloseTo(r.scores.undefended, 6);
    expect(direct.steps).toBe(12);
    direct.dispose();
    r.dispose();
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const fresh = await adversarialEvidenceTest(a.f, x, { explain: STEPS });
    expect(fresh.explanations).toBeUndefined();
    expect(fresh.scores.defended).toBeCloseTo(r.scores.defended, 6);
    expect(tf.memory().numTensors).toBe(before);
    await expect(adversarialEvidenceTest(a.f, x, { explain: { defense: false } as never })).rejects.toThrow(/adversarialEvidenceTest: options.explain.defense is set by adversarialEvidenceTest/);
    await expect(adversarialEvidenceTest(a.f, x, { explain: { stpes: 3 } as never })).rejects.toThrow(/Error in adversarialEvidenceTest: options.explain.stpes is not a known option \(did you mean 'steps'\?\)/);
    await expect(adversarialEvidenceTest(a.f, x, { explain: { learningRate: -1 } })).rejects.toThrow(/Error in adversarialEvidenceTest: options.explain.learningRate must be a positive/);
    await expect(adversarialEvidenceTest(a.f, x, { keep: true } as never)).rejects.toThrow(/options.keep is not a known option/);
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
    x.dispose();
  });
});

describeEachBackend('explanationAsInputTest', () => {
  it("scores model A's explanation on A and on a different model B, beside image and empty image", async () => {
    const a = mlp(1);
    const b = mlp(7);
    const x = tf.reshape(fixtureImage([1, 4, 4, 2], 5), [4, 4, 2]);
    const before = tf.memory().numTensors;
    const r = await explanationAsInputTest(a.f, b.f, x, 'top', { explain: STEPS, keepExplanation: true });
    const pa = await probs(a.f, x);
    const pb = await probs(b.f, x);
    const top = pa.indexOf(Math.max(...pa));
    expect(r.target).toBe(top);
    expect(r.targetB).toBe(top);
    expect(r.a.image).toBeCloseTo(pa[top]!, 6);
    expect(r.b.image).toBeCloseTo(pb[top]!, 6);
    const empty = meanImage(x);
    expect(r.a.reference).toBeCloseTo((await probs(a.f, empty))[top]!, 6);
    expect(r.b.reference).toBeCloseTo((await probs(b.f, empty))[top]!, 6);
    const e = r.explanation!;
    expect(r.a.explanation).toBeCloseTo(e.scores.explanation, 6);
    expect(r.b.explanation).toBeCloseTo((await probs(b.f, e.explanation))[top]!, 6);
    expect(r.maskMean).toBeCloseTo(e.maskMean, 12);
    r.dispose();
    // A different class index for B, and the zero reference.
    const r2 = await explanationAsInputTest(a.f, b.f, x, 0, { explain: { ...STEPS, reference: 'zero' }, targetB: 2 });
    const zeros = tf.zerosLike(x);
    expect(r2.targetB).toBe(2);
    expect(r2.b.reference).toBeCloseTo((await probs(b.f, zeros))[2]!, 6);
    expect(r2.b.image).toBeCloseTo(pb[2]!, 6);
    r2.dispose();
    tf.dispose([zeros, empty]);
    expect(tf.memory().numTensors).toBe(before);
    await expect(explanationAsInputTest(a.f, b.f, x, 0, { explain: { game: 'deletion' } as never })).rejects.toThrow(/options.explain.game is set by explanationAsInputTest/);
    await expect(explanationAsInputTest(a.f, b.f, x, 0, { targetB: 5 })).rejects.toThrow(/options.targetB must be 'top' or an integer class index in \[0, 2\]/);
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
    b.dispose();
    x.dispose();
  });
});
