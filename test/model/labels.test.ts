// Targets by class name: options.labels, models that carry their names (withLabels), and the errors.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { explain, explainBatch, withLabels } from '../../src';
import { gradientSaliency } from '../../src/baselines';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('targets by class name', () => {
  const LABELS = ['cat', 'dog', 'happy'];
  // Three classes; class 2 wins on a bright image.
  const W = [[0.1, 0.2, 0.9], [0.3, 0.1, 0.8], [0.2, 0.3, 0.7]];
  const model = (x: tf.Tensor4D) => tf.tidy(() => tf.softmax(tf.matMul(tf.mean(tf.relu(x), [1, 2]) as tf.Tensor2D, tf.tensor2d(W))));
  const x = () => tf.fill([1, 6, 6, 3], 0.8) as tf.Tensor4D;

  it('explain(model, x, name, { labels }) explains that class, matched case-insensitively', async () => {
    const input = x();
    const byName = await explain(model, input, 'Dog', { labels: LABELS, steps: 3 });
    expect(byName.target).toBe(1);
    const [a, b] = await explainBatch(model, input, ['happy', 0], { labels: LABELS, steps: 3 });
    expect([a!.target, b!.target]).toEqual([2, 0]);
    for (const r of [byName, a!, b!]) r.dispose();
    input.dispose();
  });

  it('a model with labels attached (withLabels) needs no option; baselines take names too', async () => {
    const labelled = withLabels((t: tf.Tensor4D) => model(t), LABELS);
    const input = x();
    const r = await explain(labelled, input, 'cat', { steps: 2 });
    expect(r.target).toBe(0);
    r.dispose();
    const g = await gradientSaliency(model, input, 'dog', { labels: LABELS });
    expect(g.target).toBe(1);
    g.dispose();
    input.dispose();
  });

  it('errors list the known names with a did-you-mean, and say when there are no names', async () => {
    const input = x();
    await expect(explain(model, input, 'hapy', { labels: LABELS })).rejects.toThrow(
      /^Error in explain: target "hapy" is not a class name \(did you mean 'happy'\?\); known names: cat, dog, happy \(or an index, or 'top'\)$/,
    );
    await expect(explain(model, input, 'happy')).rejects.toThrow(
      /target must be 'top' or an integer class index in \[0, 2\] \(a class name needs the class names: pass options.labels, in output order\), got "happy"/,
    );
    await expect(explain(model, input, 0, { labels: ['a', 'b'] })).rejects.toThrow(/options.labels has 2 class names, but the model has 3 classes/);
    await expect(explain(model, input, 0, { labels: ['a', ''] as string[] })).rejects.toThrow(/options.labels must be a non-empty array of class names/);
    input.dispose();
  });
});
