import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect, it } from 'vitest';
import type { Attribution, AttributionMethod } from '../../src/util/attribution';
import { explain } from '../../src/core/explain';
import type { ExplainOptions } from '../../src/core/options';
import { withInputGradientKernels } from '../../src/kernels';
import { adaptModel, selectClass, type ExplainableModel } from '../../src/model/adapter';
import { randomizationSanityCheck, RANDOMIZATION_DEFAULTS } from '../../src/metrics';
import { describeEachBackend } from '../backends';
import { fixtureImage, makeActivationZooGraphModel, ZOO_INPUT_SHAPE } from '../fixtures/graph-model';

/** A map from a [H,W] tensor, normalised to [0, 1] by its maximum. */
function attribution(map: tf.Tensor2D, target: number): Attribution {
  let disposed = false;
  return {
    saliency: map,
    target,
    dispose() {
      if (!disposed) map.dispose();
      disposed = true;
    },
  };
}

/** Ignores the model: the input's channel-mean intensity, scaled to [0, 1]. */
const intensity: AttributionMethod = async (_model, input, target) => {
  const map = tf.tidy(() => {
    const x = tf.reshape(input, input.shape.slice(-3));
    const m = tf.mean(x, 2) as tf.Tensor2D;
    const lo = tf.min(m);
    return tf.div(tf.sub(m, lo), tf.add(tf.sub(tf.max(m), lo), 1e-12)) as tf.Tensor2D;
  });
  return attribution(map, target === 'top' ? 0 : target);
};

/** Vanilla gradient of the target's log-probability, channel max of |g|, scaled to [0, 1]. */
const gradient: AttributionMethod = async (model: ExplainableModel, input, target) => {
  const x = (input.rank === 4 ? tf.clone(input) : tf.expandDims(input, 0)) as tf.Tensor4D;
  try {
    const scorer = await adaptModel(model, x, { caller: 'gradient' });
    const probs = tf.tidy(() => scorer.probs(x));
    const p = await probs.data();
    probs.dispose();
    const c = target === 'top' ? p.indexOf(Math.max(...p)) : target;
    const map = tf.tidy(() => {
      const g = withInputGradientKernels(() => tf.grad((xi: tf.Tensor) => selectClass(scorer.logProbs(xi as tf.Tensor4D), c))(x));
      const a = tf.max(tf.abs(tf.squeeze(g, [0])), 2);
      return tf.div(a, tf.add(tf.max(a), 1e-12)) as tf.Tensor2D;
    });
    return attribution(map, c);
  } finally {
    x.dispose();
  }
};

function smallCnn(): tfl.LayersModel {
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), biasInitializer: 'zeros', name: 'conv1' }));
  m.add(tfl.layers.batchNormalization({ name: 'bn1' }));
  m.add(tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2), name: 'conv2' }));
  m.add(tfl.layers.flatten({ name: 'flat' }));
  m.add(tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3), name: 'head' }));
  return m;
}

async function weightValues(model: { getWeights(): tf.Tensor[] }): Promise<number[][]> {
  return Promise.all(model.getWeights().map(async (w) => Array.from(await w.data())));
}

describeEachBackend('randomizationSanityCheck', () => {
  it('LayersModel: a model-blind method stays at 1, a gradient falls; the model is not touched', async () => {
    const model = smallCnn();
    const x = tf.randomUniform([8, 8, 2], 0, 1, 'float32', 11) as tf.Tensor3D;
    const weightsBefore = await weightValues(model);
    const yBefore = Array.from(await (model.predict(tf.expandDims(x, 0)) as tf.Tensor).data());
    const before = tf.memory().numTensors;

    const blind = await randomizationSanityCheck(model, x, 'top', intensity);
    expect(blind.source).toBe('layers');
    expect(blind.layers).toEqual(['head', 'conv2', 'bn1', 'conv1']);
    expect(blind.steps.map((s) => s.randomized)).toEqual([['head'], ['head', 'conv2'], ['head', 'conv2', 'bn1'], ['head', 'conv2', 'bn1', 'conv1']]);
    for (const s of blind.steps) {
      expect(s.spearman).toBeCloseTo(1, 10);
      expect(s.spearmanAbs).toBeCloseTo(1, 10);
      expect(s.topKIntersection).toBe(1);
    }

    const grad = await randomizationSanityCheck(model, x, 'top', gradient);
    const rho = grad.steps.map((s) => s.spearman);
    expect(rho[rho.length - 1]!).toBeLessThan(0.5);
    for (const r of rho) expect(r).toBeLessThan(0.9);
    expect(tf.memory().numTensors).toBe(before);

    // Untouched: same weights, same output.
    expect(await weightValues(model)).toEqual(weightsBefore);
    const yAfter = Array.from(await (model.predict(tf.expandDims(x, 0)) as tf.Tensor).data());
    expect(yAfter).toEqual(yBefore);
    model.dispose();
    x.dispose();
  });

  it('independent mode, checkpoints, shuffle and kept maps', async () => {
    const model = smallCnn();
    const x = tf.randomUniform([8, 8, 2], 0, 1, 'float32', 12) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const r = await randomizationSanityCheck(model, x, 1, gradient, { mode: 'independent', randomization: 'shuffle', checkpoints: ['conv2', 'head'], keepSaliencies: true });
    expect(r.target).toBe(1);
    expect(r.steps.map((s) => [s.layer, s.randomized])).toEqual([['head', ['head']], ['conv2', ['conv2']]]);
    expect(r.original!.shape).toEqual([8, 8]);
    expect(r.steps[0]!.saliency!.shape).toEqual([8, 8]);
    r.dispose();
    r.dispose();
    const two = await randomizationSanityCheck(model, x, 1, gradient, { checkpoints: 2 });
    expect(two.steps.map((s) => s.layer)).toEqual(['head', 'conv1']);
    expect(tf.memory().numTensors).toBe(before);
    await expect(randomizationSanityCheck(model, x, 1, gradient, { checkpoints: ['nope'] })).rejects.toThrow(/options.checkpoints names an unknown layer "nope"; layers with weights, top first: head, conv2, bn1, conv1/);
    await expect(randomizationSanityCheck(model, x, 1, gradient, { mdoe: 'x' } as never)).rejects.toThrow(/randomizationSanityCheck: options.mdoe is not a known option \(did you mean 'mode'\?\)/);
    expect(tf.memory().numTensors).toBe(before);
    // A method that fails on a randomised model: the error comes through, nothing leaks.
    let calls = 0;
    const flaky: AttributionMethod = async (...args) => {
      if (++calls === 3) throw new Error('method failed');
      return gradient(...args);
    };
    await expect(randomizationSanityCheck(model, x, 1, flaky)).rejects.toThrow('method failed');
    expect(tf.memory().numTensors).toBe(before);
    expect(RANDOMIZATION_DEFAULTS.mode).toBe('cascading');
    model.dispose();
    x.dispose();
  });
});

describeEachBackend('randomizationSanityCheck with explain as the method', () => {
  it('runs explain (fixed steps) on the trained and randomised copies', async () => {
    const model = smallCnn();
    const x = tf.randomUniform([8, 8, 2], 0, 1, 'float32', 13) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const r = await randomizationSanityCheck<ExplainOptions>(model, x, 'top', explain, {
      methodOptions: { steps: 6, lambda: 0.5, earlyStop: false },
      checkpoints: 2,
    });
    expect(r.steps.map((s) => s.layer)).toEqual(['head', 'conv1']);
    for (const s of r.steps) expect(s.spearman).toBeGreaterThanOrEqual(-1);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    x.dispose();
  });
});

describeEachBackend('randomizationSanityCheck on a GraphModel and on given models', () => {
  it('GraphModel: randomised copies are loaded from its artifacts; the model is not touched', async () => {
    const model = await makeActivationZooGraphModel();
    const x = fixtureImage(ZOO_INPUT_SHAPE);
    const names = Object.keys(model.weights);
    const before = await Promise.all(names.map(async (n) => Array.from(await model.weights[n]![0]!.data())));
    const count = tf.memory().numTensors;
    const blind = await randomizationSanityCheck(model, x, 'top', intensity);
    expect(blind.source).toBe('graph');
    expect(blind.layers.length).toBeGreaterThan(1);
    for (const s of blind.steps) expect(s.spearman).toBeCloseTo(1, 10);
    const grad = await randomizationSanityCheck(model, x, 'top', gradient, { checkpoints: 3 });
    expect(grad.steps[grad.steps.length - 1]!.spearman).toBeLessThan(0.5);
    expect(tf.memory().numTensors).toBe(count);
    const after = await Promise.all(names.map(async (n) => Array.from(await model.weights[n]![0]!.data())));
    expect(after).toEqual(before);
    model.dispose();
    x.dispose();
  });

  it('function models need options.models', async () => {
    const f = (t: tf.Tensor4D) => tf.softmax(tf.reshape(tf.sum(tf.square(t), [1, 2]), [1, -1]));
    const g = (t: tf.Tensor4D) => tf.softmax(tf.reshape(tf.sum(tf.exp(tf.mul(t, -3)), [1, 2]), [1, -1]));
    const x = tf.randomUniform([4, 4, 2], 0, 1, 'float32', 5) as tf.Tensor3D;
    await expect(randomizationSanityCheck(f, x, 0, gradient)).rejects.toThrow(/model is a function model.*options.models/);
    const r = await randomizationSanityCheck(f, x, 0, gradient, { models: [{ name: 'squared', model: g }, { name: 'same', model: f }] });
    expect(r.source).toBe('models');
    expect(r.steps.map((s) => s.layer)).toEqual(['squared', 'same']);
    expect(r.steps[1]!.spearman).toBeCloseTo(1, 10);
    await expect(randomizationSanityCheck(f, x, 0, gradient, { models: [{ name: 'a', model: g }], mode: 'independent' })).rejects.toThrow(/options.models cannot be combined/);
    x.dispose();
  });
});
