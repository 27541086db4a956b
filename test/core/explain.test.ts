import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { explain, explainBatch, type ExplainLive, type ExplainStep } from '../../src';
import { loadMnistModel, mnistDigit } from '../fixtures/mnist';
import { DEFAULT_GATED_KERNELS } from '../../src/filter';
import { describeEachBackend, useBackend } from '../backends';
import { GRAPH_FIXTURE_CLASSES, fixtureImage, makeGraphModelFixture } from '../fixtures/graph-model';

/** A small conv net with a residual branch, as a plain function, with fixed weights. */
function residualNet(classes = 4) {
  const w1 = tf.randomNormal([3, 3, 3, 6], 0, 0.6, 'float32', 11) as tf.Tensor4D;
  const w2 = tf.randomNormal([3, 3, 6, 6], 0, 0.4, 'float32', 12) as tf.Tensor4D;
  const w3 = tf.randomNormal([6, classes], 0, 1, 'float32', 13) as tf.Tensor2D;
  return (x: tf.Tensor4D) =>
    tf.tidy(() => {
      const h = tf.relu(tf.conv2d(x, w1, 1, 'same'));
      const r = tf.add(h, tf.relu6(tf.conv2d(h, w2, 1, 'same')));
      return tf.softmax(tf.matMul(tf.reshape(tf.mean(r, [1, 2]), [1, 6]), w3));
    });
}

/** Registry entries the defense touches, to check they are restored. */
const registrySnapshot = () => DEFAULT_GATED_KERNELS.map((k) => tf.getGradient(k));

describeEachBackend('explain: the public contract', () => {
  it('returns a mask, explanation and saliency with the documented shapes and ranges, and frees them on dispose', async () => {
    const model = residualNet();
    const x = tf.randomUniform([12, 12, 3], 0, 1, 'float32', 5) as tf.Tensor3D;
    const xBefore = Array.from(await x.data());
    const before = tf.memory().numTensors;
    const registry = registrySnapshot();
    const r = await explain(model, x, 'top', { steps: 30 });
    expect(r.mask.shape).toEqual([12, 12, 3]);
    expect(r.explanation.shape).toEqual([12, 12, 3]);
    expect(r.saliency.shape).toEqual([12, 12]);
    const m = await r.mask.data();
    expect(Math.min(...m)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...m)).toBeLessThanOrEqual(1);
    const s = await r.saliency.data();
    expect(Math.min(...s)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...s)).toBeLessThanOrEqual(1);
    // The explanation is m * x + (1 - m) * r with the default reference, the image's per-channel
    // mean colour; its score is read from the unmodified model.
    const mean = [0, 1, 2].map((c) => xBefore.filter((_, i) => i % 3 === c).reduce((a, b) => a + b, 0) / 144);
    const e = await r.explanation.data();
    e.forEach((v, i) => expect(v).toBeCloseTo(m[i]! * xBefore[i]! + (1 - m[i]!) * mean[i % 3]!, 5));
    // Preservation: the evidence is the explanation.
    expect(Array.from(await r.evidence.data())).toEqual(Array.from(e));
    const probsOf = async (t: tf.Tensor) => {
      const y = tf.tidy(() => model(tf.reshape(t, [1, 12, 12, 3]) as tf.Tensor4D));
      const d = await y.data();
      y.dispose();
      return d;
    };
    const p = await probsOf(r.explanation);
    expect(r.scores.explanation).toBeCloseTo(p[r.target]!, 5);
    const pImage = await probsOf(x);
    expect(r.target).toBe(pImage.indexOf(Math.max(...pImage)));
    expect(r.scores.image).toBeCloseTo(pImage[r.target]!, 5);
    expect(r.history).toHaveLength(r.steps);
    expect(r.history[0]!.score).toBeCloseTo(r.scores.image, 4);
    expect(r.history[0]!.l1).toBe(1);
    expect(r.gatedOutputs).toBe(3); // 2 activations and a convolution's output
    expect(r.game).toBe('preservation');
    expect(r.lambda).toBeGreaterThan(0);
    r.dispose();
    r.dispose();
    expect(tf.memory().numTensors - before).toBe(0);
    expect(registrySnapshot()).toEqual(registry);
    expect(Array.from(await x.data())).toEqual(xBefore);
    expect(x.isDisposed).toBe(false);
  });

  it('accepts a rank-4 input and returns rank-4 tensors; deletion saliency is the mean of 1 - m', async () => {
    const model = residualNet();
    const x = tf.randomUniform([1, 10, 10, 3], 0, 1, 'float32', 6);
    const r = await explain(model, x, 'top', { steps: 20, game: 'deletion', lambda: 0.01, reference: 'zero' });
    expect(r.mask.shape).toEqual([1, 10, 10, 3]);
    const m = await r.mask.data();
    const s = await r.saliency.data();
    for (let i = 0; i < 100; i++) expect(s[i]).toBeCloseTo(1 - (m[3 * i]! + m[3 * i + 1]! + m[3 * i + 2]!) / 3, 5);
    // The explanation is the image with the evidence removed; the evidence is what was removed.
    const xv = await x.data();
    const e = await r.explanation.data();
    const ev = await r.evidence.data();
    expect(r.evidence.shape).toEqual([1, 10, 10, 3]);
    expect(Math.min(...m)).toBeLessThan(0.5);
    m.forEach((mi, i) => {
      expect(e[i]).toBeCloseTo(mi * xv[i]!, 5);
      expect(ev[i]).toBeCloseTo((1 - mi) * xv[i]!, 5);
    });
    expect(r.lambda).toBe(0.01);
    expect(r.game).toBe('deletion');
    expect(r.goal).toBeUndefined();
    r.dispose();
  });

  it('explains a GraphModel with fused ops, filtering its activations', async () => {
    const model = await makeGraphModelFixture();
    const x = fixtureImage([1, 16, 16, 3]);
    const before = tf.memory().numTensors;
    const r = await explain(model, x, 'top', { steps: 15 });
    expect(r.gatedOutputs).toBeGreaterThanOrEqual(4);
    expect(r.target).toBeLessThan(GRAPH_FIXTURE_CLASSES);
    expect(r.history.length).toBe(15);
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('explains a LayersModel with ReLU (maxValue) and LeakyReLU layers', async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: tfl.initializers.glorotNormal({ seed: 1 }) }),
        tfl.layers.reLU({ maxValue: 6 }),
        tfl.layers.leakyReLU({ alpha: 0.2 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.glorotNormal({ seed: 2 }) }),
      ],
    });
    const x = tf.randomUniform([8, 8, 3], 0, 1, 'float32', 9);
    const before = tf.memory().numTensors;
    const r = await explain(model, x, 1, { steps: 10, scores: 'logits' });
    // conv relu (its output before the bias too), ReLU(maxValue) = Relu then ClipByValue, LeakyReLU;
    // the bias add before the relu and the Relu before ClipByValue need no gate of their own.
    expect(r.gatedOutputs).toBe(4);
    expect(r.target).toBe(1);
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('warns when the defense finds no activation to filter', async () => {
    const w = tf.randomNormal([27, 2], 0, 1, 'float32', 1);
    const model = (x: tf.Tensor4D) => tf.softmax(tf.matMul(tf.maximum(tf.reshape(x, [1, 27]), 0), w));
    const r = await explain(model, tf.randomUniform([3, 3, 3], 0, 1, 'float32', 2), 0, { steps: 3 });
    expect(r.gatedOutputs).toBe(0);
    expect(r.warnings.join(' ')).toMatch(/no gated kernel to filter/);
    r.dispose();
  });

  it('gives clear errors for bad input, target and options, leaking nothing', async () => {
    const model = residualNet();
    const x = tf.randomUniform([6, 6, 3], 0, 1, 'float32', 1);
    const rank2 = tf.zeros([6, 6]);
    const batch2 = tf.zeros([2, 6, 6, 3]);
    const ints = tf.zeros([6, 6, 3], 'int32');
    const nan = tf.tensor3d([NaN, 0, 0], [1, 1, 3]);
    const wrongReference = tf.zeros([5, 5, 3]);
    const before = tf.memory().numTensors;
    await expect(explain(model, rank2, 0)).rejects.toThrow('Error in explain: input must be rank 3 [H,W,C] or rank 4 [1,H,W,C], got rank 2 [6,6]');
    await expect(explain(model, batch2, 0)).rejects.toThrow(/input must have batch size 1/);
    await expect(explain(model, ints, 0)).rejects.toThrow(/input must be a float32 tensor .* got dtype int32/);
    await expect(explain(model, nan, 0)).rejects.toThrow(/input must be finite, got NaN at flat index 0/);
    await expect(explain(model, [1, 2] as never, 0)).rejects.toThrow(/input must be a Tensor3D .* got an array of length 2/);
    await expect(explain(model, x, 4)).rejects.toThrow("Error in explain: target must be 'top' or an integer class index in [0, 3], got 4");
    await expect(explain(model, x, 1.5)).rejects.toThrow(/got 1.5/);
    await expect(explain(model, x, -1)).rejects.toThrow(/got -1/);
    await expect(explain(model, x, 'best')).rejects.toThrow(/got "best"/);
    await expect(explain(model, x, 0, { step: 3 } as never)).rejects.toThrow(/did you mean 'steps'/);
    await expect(explain(model, x, 0, { reference: wrongReference })).rejects.toThrow(/options.reference must have the input's shape/);
    await expect(explain(() => tf.zeros([1, 2, 2]), x, 0)).rejects.toThrow(/output must have shape \[1, classes\], got \[1,2,2\]/);
    await expect(explain(model, x, 0, { outputNode: 'logits' })).rejects.toThrow(/outputNode applies only/);
    expect(tf.memory().numTensors).toBe(before);
    const disposed = tf.ones([2, 2, 3]);
    disposed.dispose();
    await expect(explain(model, disposed, 0)).rejects.toThrow(/input is a disposed tensor/);
  });

  it('restores the registries and leaks nothing when the model throws inside a step', async () => {
    const inner = residualNet();
    let calls = 0;
    const model = (x: tf.Tensor4D) => {
      calls += 1;
      if (calls === 4) throw new Error('model exploded');
      return inner(x);
    };
    const x = tf.randomUniform([6, 6, 3], 0, 1, 'float32', 1);
    const before = tf.memory().numTensors;
    const registry = registrySnapshot();
    const kernels = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'].map((k) =>
      tf.getKernel(k, tf.getBackend()),
    );
    await expect(explain(model, x, 0, { steps: 10 })).rejects.toThrow('model exploded');
    expect(tf.memory().numTensors).toBe(before);
    expect(registrySnapshot()).toEqual(registry);
    expect(['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'].map((k) => tf.getKernel(k, tf.getBackend()))).toEqual(kernels);
  });

  it('aborts before the first step and between steps with the signal reason, leaving nothing behind', async () => {
    const model = residualNet();
    const x = tf.randomUniform([6, 6, 3], 0, 1, 'float32', 1);
    const before = tf.memory().numTensors;
    const registry = registrySnapshot();
    const early = new AbortController();
    early.abort();
    await expect(explain(model, x, 0, { signal: early.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const mid = new AbortController();
    const reason = new Error('user pressed stop');
    const seen: number[] = [];
    const run = explain(model, x, 0, {
      steps: 100,
      signal: mid.signal,
      onStep: async ({ step }) => {
        seen.push(step);
        if (step === 7) mid.abort(reason);
      },
    });
    await expect(run).rejects.toBe(reason);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(tf.memory().numTensors).toBe(before);
    expect(registrySnapshot()).toEqual(registry);
  });

  it('lets user code between steps see stock tfjs', async () => {
    const model = residualNet();
    const x = tf.randomUniform([6, 6, 3], 0, 1, 'float32', 1);
    const stock = registrySnapshot();
    let checked = 0;
    let last: Float32Array | null = null;
    const r = await explain(model, x, 0, {
      steps: 5,
      lambda: 1,
      onStep: async (_, live) => {
        expect(registrySnapshot()).toEqual(stock);
        checked += 1;
        // The live mask: the current values, in the input's shape, owned by the caller.
        const m = live.mask();
        expect(m.shape).toEqual([6, 6, 3]);
        last = (await m.data()) as Float32Array;
        m.dispose();
      },
    });
    expect(checked).toBe(5);
    expect(Array.from(last!)).toEqual(Array.from(await r.mask.data()));
    r.dispose();
  });

  it('captures the bounds at e = x also for the sigmoid mask (which starts at 0.999, not 1)', async () => {
    // A bias-free ReLU unit: h(m x) = m h(x). Bounds taken anywhere below m = 0.999
    // would gate every gradient at the start and the mask could not move with lambda 0.
    const w = tf.randomUniform([3, 2], 0.5, 1, 'float32', 3);
    const model = (x: tf.Tensor4D) => tf.tidy(() => tf.softmax(tf.sum(tf.matMul(tf.relu(tf.reshape(x, [-1, 3])), w), 0, true) as tf.Tensor2D));
    const x = tf.randomUniform([4, 4, 3], 0.1, 1, 'float32', 2);
    const r = await explain(model, x, 1, { steps: 5, game: 'deletion', lambda: 0, parameterization: 'sigmoid', earlyStop: false, learningRate: 1 });
    const m = await r.mask.data();
    expect(Math.min(...m)).toBeLessThan(0.99);
    expect(r.gatedOutputs).toBe(1);
    r.dispose();
  });

  it("passes beta1 to Adam: momentum changes the path, and the default is Adam's 0.9", async () => {
    const model = residualNet();
    const x = tf.randomUniform([8, 8, 3], 0, 1, 'float32', 9) as tf.Tensor3D;
    const run = async (beta1?: number) => {
      const r = await explain(model, x, 0, { steps: 6, lambda: 5, earlyStop: false, ...(beta1 === undefined ? {} : { beta1 }) });
      const out = { l1: r.history.map((h) => h.l1), mask: Array.from(await r.mask.data()) };
      r.dispose();
      return out;
    };
    const [plain, adam09, noMomentum] = [await run(), await run(0.9), await run(0)];
    expect(adam09).toEqual(plain);
    // Adam's first step is the same for every beta1 (bias correction); later ones are not.
    expect(noMomentum.l1[1]).toBeCloseTo(plain.l1[1]!, 6);
    expect(noMomentum.mask).not.toEqual(plain.mask);
    x.dispose();
  });

  it('is deterministic for the same seed and inputs', async () => {
    const model = residualNet();
    const x = tf.randomUniform([6, 6, 3], 0, 1, 'float32', 1);
    const a = await explain(model, x, 1, { steps: 12, reference: 'noise', seed: 4 });
    const b = await explain(model, x, 1, { steps: 12, reference: 'noise', seed: 4 });
    expect(Array.from(await a.mask.data())).toEqual(Array.from(await b.mask.data()));
    a.dispose();
    b.dispose();
  });
});

describe('explain: cpu and wasm agree', () => {
  it('gives the same mask on both backends within 1e-3', async () => {
    const masks: Float32Array[] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend);
      const model = await makeGraphModelFixture();
      const x = fixtureImage([1, 16, 16, 3]);
      const r = await explain(model, x, 'top', { steps: 25, lambda: 1 });
      masks.push((await r.mask.data()) as Float32Array);
      r.dispose();
      x.dispose();
      model.dispose();
    }
    let worst = 0;
    masks[0]!.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - masks[1]![i]!))));
    expect(worst).toBeLessThan(1e-3);
  });
});

describeEachBackend('explain: results do not depend on being watched', () => {
  it('gives the same mask, steps, back-offs and history with or without onStep (sync, async, with previews)', async () => {
    const model = await loadMnistModel();
    const { x } = mnistDigit(5);
    // A run that backs off several times and stops early (decisions at steps that are not multiples of 10).
    const options = { backoff: { after: 3 }, steps: 200 } as const;
    const plain = await explain(model, x, 'top', options);
    // The run's decisions fired (otherwise the comparison would be vacuous).
    expect(plain.steps).toBeLessThan(options.steps);
    expect(plain.backoffs).toBeGreaterThan(0);
    const mask = Array.from(await plain.mask.data());
    const seen: number[] = [];
    const watchers = [
      (s: ExplainStep) => void seen.push(s.step),
      async () => new Promise<void>((resolve) => setTimeout(resolve, 1)),
      (_: ExplainStep, live: ExplainLive) => live.mask().dispose(),
    ];
    for (const onStep of watchers) {
      const watched = await explain(model, x, 'top', { ...options, onStep });
      expect(Array.from(await watched.mask.data())).toEqual(mask);
      expect([watched.steps, watched.backoffs, watched.lambda]).toEqual([plain.steps, plain.backoffs, plain.lambda]);
      expect(watched.history).toEqual(plain.history);
      watched.dispose();
    }
    // Every step was reported once, in order.
    expect(seen).toEqual(plain.history.map((h) => h.step));
    // explainBatch: the same with or without a watcher.
    const [a, b] = await explainBatch(model, x, [3, 'top'], options);
    const [c, d] = await explainBatch(model, x, [3, 'top'], { ...options, onStep: () => undefined });
    for (const [p, q] of [[a!, c!], [b!, d!]]) {
      expect(Array.from(await q.mask.data())).toEqual(Array.from(await p.mask.data()));
      expect(q.history).toEqual(p.history);
    }
    for (const r of [a!, b!, c!, d!]) r.dispose();
    plain.dispose();
    x.dispose();
    model.dispose();
  });
});
