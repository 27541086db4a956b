import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../backends';
import { deletionInsertion, DELETION_INSERTION_DEFAULTS } from '../../src/metrics';
import { saliencyRanks, trapezoidAuc } from '../../src/metrics/deletion-insertion';

/**
 * A model whose target score (class 1) is the mean of the input over a known
 * pixel set S (all channels), for inputs in [0, 1]: p = [1 - s, s]. Works on
 * any batch size; `calls` records the batch sizes it saw.
 */
function meanOfPixels(height: number, width: number, channels: number, pixels: number[], calls: number[] = []) {
  const m = new Float32Array(height * width * channels);
  for (const p of pixels) for (let c = 0; c < channels; c++) m[p * channels + c] = 1;
  return (x: tf.Tensor4D) => {
    calls.push(x.shape[0]);
    return tf.tidy(() => {
      const mask = tf.tensor4d(m, [1, height, width, channels]);
      const s = tf.div(tf.sum(tf.mul(x, mask), [1, 2, 3]), pixels.length * channels);
      return tf.stack([tf.sub(1, s), s], 1);
    });
  };
}

const PERFECT = [[1, 0.9], [0.1, 0]]; // S = pixels 0 and 1 first
const REVERSED = [[0, 0.1], [0.9, 1]];

describeEachBackend('deletionInsertion', () => {
  it('trapezoid rule by hand', () => {
    // Two steps on [0, 1]: 0.5 * (1 + 0.5) / 2 + 0.5 * (0.5 + 0) / 2 = 0.5.
    expect(trapezoidAuc([1, 0.5, 0])).toBeCloseTo(0.5, 12);
    // Uneven abscissae: 0.25 * (0 + 1) / 2 + 0.75 * (1 + 1) / 2 = 0.875.
    expect(trapezoidAuc([0, 1, 1], [0, 0.25, 1])).toBeCloseTo(0.875, 12);
    expect(() => trapezoidAuc([1])).toThrow(/trapezoidAuc: y must be an array of at least 2/);
    expect(() => trapezoidAuc([1, 2], [1, 0])).toThrow(/x must be non-decreasing/);
  });

  it('ranks: most salient first, ties in row-major order', () => {
    expect(Array.from(saliencyRanks([0, 1, 1, 1]))).toEqual([3, 0, 1, 2]);
    expect(Array.from(saliencyRanks([0.5, 0.2, 0.9]))).toEqual([1, 2, 0]);
  });

  it('perfect and reversed saliency give the hand-computed AUCs (one pixel per step)', async () => {
    const model = meanOfPixels(2, 2, 3, [0, 1]);
    const x = tf.ones([2, 2, 3]);
    const good = tf.tensor2d(PERFECT);
    const bad = tf.tensor2d(REVERSED);
    const before = tf.memory().numTensors;
    const opts = { steps: 4, insertionSubstrate: 'zero' as const };
    const p = await deletionInsertion(model, x, good, 1, opts);
    const r = await deletionInsertion(model, x, bad, 1, opts);
    expect(tf.memory().numTensors).toBe(before);
    expect(p.target).toBe(1);
    expect(p.deletion!.fractions).toEqual([0, 0.25, 0.5, 0.75, 1]);
    // Deletion, perfect: S goes first: 1, .5, 0, 0, 0 -> 0.25 * (.75 + .25) = 0.25.
    expect(p.deletion!.curve.map((v) => +v.toFixed(6))).toEqual([1, 0.5, 0, 0, 0]);
    expect(p.deletion!.auc).toBeCloseTo(0.25, 6);
    // Deletion, reversed: 1, 1, 1, .5, 0 -> 0.25 * (1 + 1 + .75 + .25) = 0.75.
    expect(r.deletion!.curve.map((v) => +v.toFixed(6))).toEqual([1, 1, 1, 0.5, 0]);
    expect(r.deletion!.auc).toBeCloseTo(0.75, 6);
    // Insertion from zero: perfect 0, .5, 1, 1, 1 -> 0.75; reversed 0, 0, 0, .5, 1 -> 0.25.
    expect(p.insertion!.curve.map((v) => +v.toFixed(6))).toEqual([0, 0.5, 1, 1, 1]);
    expect(p.insertion!.auc).toBeCloseTo(0.75, 6);
    expect(r.insertion!.auc).toBeCloseTo(0.25, 6);
    tf.dispose([x, good, bad]);
  });

  it('equal chunks: 2 steps of 2 pixels; one curve only; ties broken row-major (ties: raster) or in a seeded random order', async () => {
    const model = meanOfPixels(2, 2, 1, [0, 1]);
    const x = tf.ones([1, 2, 2, 1]);
    const good = tf.tensor2d(PERFECT);
    const d = await deletionInsertion(model, x, good, 1, { steps: 2, mode: 'deletion' });
    expect(d.insertion).toBeUndefined();
    expect(d.deletion!.fractions).toEqual([0, 0.5, 1]);
    expect(d.deletion!.auc).toBeCloseTo(0.5 * 0.5, 6); // 1, 0, 0
    // Ties among pixels 1, 2, 3 go in row-major order: removal order 1, 2, 3, 0.
    const tied = tf.tensor2d([[0, 1], [1, 1]]);
    const t = await deletionInsertion(model, x, tied, 1, { steps: 4, mode: 'deletion', ties: 'raster' });
    expect(t.deletion!.curve.map((v) => +v.toFixed(6))).toEqual([1, 0.5, 0.5, 0.5, 0]);
    // By default, ties go in a seeded random order: the same for the same seed, over seeds not always row-major.
    const orders = new Set<string>();
    const curves = new Set<string>();
    for (const seed of [0, 1, 2, 3, 4, 5]) {
      const a = await deletionInsertion(model, x, tied, 1, { steps: 4, mode: 'deletion', seed });
      const b = await deletionInsertion(model, x, tied, 1, { steps: 4, mode: 'deletion', seed });
      expect(a.deletion!.curve).toEqual(b.deletion!.curve);
      curves.add(a.deletion!.curve.map((v) => v.toFixed(6)).join(','));
      orders.add(Array.from(saliencyRanks([0, 1, 1, 1], seed)).join(','));
    }
    expect(curves.size).toBeGreaterThan(1);
    expect(orders.size).toBeGreaterThan(1);
    for (const o of orders) expect(o.split(',')[0]).toBe('3'); // pixel 0, the least salient, always moves last
    // steps above H*W are capped at one pixel per step.
    const capped = await deletionInsertion(model, x, good, 1, { steps: 100, mode: 'insertion', insertionSubstrate: 'zero' });
    expect(capped.insertion!.curve).toHaveLength(5);
    tf.dispose([x, good, tied]);
  });

  it('default insertion substrate is the blurred image (a constant image blurs to itself)', async () => {
    expect(DELETION_INSERTION_DEFAULTS.insertionSubstrate).toBe('blur');
    const model = meanOfPixels(4, 4, 1, [0, 5]);
    const x = tf.fill([4, 4, 1], 0.5);
    const s = tf.randomUniform([4, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
    const { insertion, deletion } = await deletionInsertion(model, x, s, 1, { steps: 4 });
    for (const v of insertion!.curve) expect(v).toBeCloseTo(0.5, 5);
    expect(insertion!.auc).toBeCloseTo(0.5, 5);
    expect(deletion!.curve[deletion!.curve.length - 1]).toBeCloseTo(0, 6);
    tf.dispose([x, s]);
  });

  it('batches forward passes, and falls back to one image per call when the model cannot batch', async () => {
    const x = tf.ones([2, 2, 1]);
    const good = tf.tensor2d(PERFECT);
    const calls: number[] = [];
    const batched = await deletionInsertion(meanOfPixels(2, 2, 1, [0, 1], calls), x, good, 1, { steps: 4, batchSize: 8 });
    expect(Math.max(...calls)).toBe(5);
    // A model that only takes batch 1 (throws otherwise).
    const inner = meanOfPixels(2, 2, 1, [0, 1]);
    const strict = (t: tf.Tensor4D) => {
      if (t.shape[0] !== 1) throw new Error('batch 1 only');
      return inner(t);
    };
    // A model that silently mixes the batch (returns the batch mean on every row).
    const mixing = (t: tf.Tensor4D) => tf.tidy(() => tf.mul(tf.mean(inner(t), 0, true), tf.ones([t.shape[0], 1])));
    const before = tf.memory().numTensors;
    for (const m of [strict, mixing]) {
      const r = await deletionInsertion(m, x, good, 1, { steps: 4, batchSize: 8 });
      expect(r.deletion!.auc).toBeCloseTo(batched.deletion!.auc, 6);
      expect(r.insertion!.auc).toBeCloseTo(batched.insertion!.auc, 6);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, good]);
  });

  it('rejects bad arguments clearly, leaking nothing', async () => {
    const model = meanOfPixels(2, 2, 1, [0]);
    const x = tf.ones([2, 2, 1]);
    const good = tf.tensor2d(PERFECT);
    const wrong = tf.ones([3, 2]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    await expect(deletionInsertion(model, x, good, 1, { step: 4 } as never)).rejects.toThrow(/deletionInsertion: options.step is not a known option \(did you mean 'steps'\?\)/);
    await expect(deletionInsertion(model, x, wrong, 1)).rejects.toThrow(/deletionInsertion: saliency must have the input's spatial shape \[2,2\], got \[3,2\]/);
    await expect(deletionInsertion(model, x, good, 7)).rejects.toThrow(/target must be 'top' or an integer class index in \[0, 1\]/);
    await expect(deletionInsertion(model, x, good, 1, { insertionSubstrate: 'blurry' as never })).rejects.toThrow(/options.insertionSubstrate must be/);
    await expect(deletionInsertion(model, x, good, 1, { mode: 'both!' as never })).rejects.toThrow(/options.mode must be one of/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, good, wrong]);
  });
});

describeEachBackend('deletionInsertion on tfjs models', () => {
  it('LayersModel (batches) and GraphModel with a fixed batch of 1 (falls back) match unbatched runs', async () => {
    const tfl = await import('@tensorflow/tfjs-layers');
    const { fixtureImage, makeActivationZooGraphModel, ZOO_INPUT_SHAPE } = await import('../fixtures/graph-model');
    const layers = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [8, 8, 3], filters: 2, kernelSize: 3, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }) }),
      ],
    });
    const graph = await makeActivationZooGraphModel();
    const x = fixtureImage(ZOO_INPUT_SHAPE, 2);
    const s = tf.randomUniform([8, 8], 0, 1, 'float32', 9) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    for (const model of [layers, graph]) {
      const one = await deletionInsertion(model, x, s, 'top', { steps: 8, batchSize: 1 });
      const many = await deletionInsertion(model, x, s, 'top', { steps: 8, batchSize: 4 });
      expect(many.target).toBe(one.target);
      many.deletion!.curve.forEach((v, i) => expect(v).toBeCloseTo(one.deletion!.curve[i]!, 5));
      many.insertion!.curve.forEach((v, i) => expect(v).toBeCloseTo(one.insertion!.curve[i]!, 5));
    }
    const controller = new AbortController();
    controller.abort();
    await expect(deletionInsertion(graph, x, s, 'top', { signal: controller.signal })).rejects.toThrow(/abort/i);
    expect(tf.memory().numTensors).toBe(before);
    layers.dispose();
    graph.dispose();
    tf.dispose([x, s]);
  });
});
