/**
 * Disposal and determinism: tensors given by the user (inputs, references,
 * baselines, saliency maps, regions, model weights) are never disposed or
 * modified, bit for bit, whether the call succeeds or fails; a result owns
 * its tensors until dispose(), and dispose() twice is harmless; the same seed
 * gives the same result on the same backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { explain, type ExplainOptions, type ExplainableModel } from '../../src';
import { gradientSaliency, integratedGradients, meaningfulPerturbation, occlusion, smoothGrad } from '../../src/baselines';
import { deletionInsertion, pointingGame } from '../../src/metrics';
import { describeEachBackend } from '../backends';
import { fixtureImage, makeGraphModelFixture } from '../fixtures/graph-model';
import { bits, expectRestored, rejection, reportCounts, smallNet, snapshot, uniform } from './helpers';

reportCounts('disposal');

describeEachBackend('disposal', () => {
  let net: ReturnType<typeof smallNet>;
  let graph: GraphModel;
  let layers: tfl.LayersModel;
  let x3: tf.Tensor3D;
  let x4: tf.Tensor4D;
  let gx: tf.Tensor4D;
  let ref: tf.Tensor3D;
  let ref4: tf.Tensor4D;
  let sal: tf.Tensor2D;
  let region: tf.Tensor2D;
  /** Every user tensor, with its bits before any call. */
  let watched: Array<{ name: string; t: tf.Tensor; bits: Uint32Array }>;

  beforeAll(async () => {
    net = smallNet();
    graph = await makeGraphModelFixture();
    layers = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [6, 6, 3], filters: 3, kernelSize: 3, activation: 'relu', kernelInitializer: tfl.initializers.glorotNormal({ seed: 1 }) }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotNormal({ seed: 2 }) }),
      ],
    });
    x3 = uniform([6, 6, 3], 11, 0, 1) as tf.Tensor3D;
    x4 = uniform([1, 6, 6, 3], 12, 0, 1) as tf.Tensor4D;
    gx = fixtureImage([1, 16, 16, 3]);
    ref = uniform([6, 6, 3], 13, 0, 0.5) as tf.Tensor3D;
    ref4 = uniform([1, 6, 6, 3], 14, 0, 0.5) as tf.Tensor4D;
    sal = uniform([6, 6], 15, 0, 1) as tf.Tensor2D;
    region = tf.tensor2d(Array.from({ length: 36 }, (_, i) => (i % 6 < 3 ? 1 : 0)), [6, 6]);
    const named: Array<[string, tf.Tensor]> = [
      ['x3', x3], ['x4', x4], ['gx', gx], ['ref', ref], ['ref4', ref4], ['saliency', sal], ['region', region],
      ...net.weights.map((w, i): [string, tf.Tensor] => [`net weight ${i}`, w]),
      ...Object.entries(graph.weights).flatMap(([k, ts]) => ts.map((t, i): [string, tf.Tensor] => [`graph ${k}:${i}`, t])),
      ...layers.weights.map((w): [string, tf.Tensor] => [`layers ${w.name}`, w.read()]),
    ];
    watched = await Promise.all(named.map(async ([name, t]) => ({ name, t, bits: await bits(t) })));
  });
  afterAll(() => {
    net.dispose();
    graph.dispose();
    layers.dispose();
    tf.dispose([x3, x4, gx, ref, ref4, sal, region]);
  });

  /** Every user tensor alive and bit-for-bit unchanged. */
  async function expectUntouched(where: string): Promise<void> {
    for (const w of watched) {
      expect(w.t.isDisposed, `${where}: ${w.name} disposed`).toBe(false);
      expect(await bits(w.t), `${where}: ${w.name} modified`).toEqual(w.bits);
    }
    for (const w of layers.weights) expect(w.read().isDisposed).toBe(false);
  }

  it('explain never disposes or modifies user tensors, on success and on failure', async () => {
    const variants: ExplainOptions[] = [
      {},
      { reference: ref },
      { reference: ref4, game: 'deletion', classTerm: 'cross-entropy' },
      { reference: 'blur', blurSigma: 1, parameterization: 'sigmoid' },
      { reference: 'noise', seed: 1, optimizer: 'sgd', lambda: 0.1 },
      { reference: 'mean', defense: false },
    ];
    for (const [model, input] of [[net.model, x3], [net.model, x4], [layers, x3], [graph, gx]] as const) {
      for (const v of variants) {
        const o = input === gx && v.reference instanceof tf.Tensor ? { ...v, reference: 'zero' as const } : v;
        const before = snapshot();
        const r = await explain(model, input, 'top', { steps: 4, ...o });
        r.dispose();
        expectRestored(before);
      }
    }
    await expectUntouched('after successful runs');
    // Failures: the model throws mid-step, an abort, a NaN loss, a bad option after the input was read.
    let calls = 0;
    const throwing = (v: tf.Tensor4D) => {
      if (++calls % 5 === 0) throw new Error('fail');
      return net.model(v);
    };
    const c = new AbortController();
    const failures: Array<() => Promise<unknown>> = [
      () => explain(throwing, x3, 0, { reference: ref, steps: 5 }),
      () => explain(net.model, x4, 0, { reference: ref4, signal: c.signal, onStep: (s) => void (s.step === 2 && c.abort()) }),
      () => explain((v) => tf.tidy(() => tf.mul(net.model(v), tf.scalar(NaN))), x3, 0),
      () => explain(net.model, x3, 9, { reference: ref }),
      () => explain(layers, x3, 0, { reference: ref4, outputNode: 'nope' }),
    ];
    for (const f of failures) {
      const before = snapshot();
      await rejection(f);
      expectRestored(before);
    }
    await expectUntouched('after failed runs');
  });

  it('baselines and metrics never dispose or modify user tensors', async () => {
    const calls: Array<() => Promise<{ dispose?: () => void } | unknown>> = [
      () => gradientSaliency(net.model, x3, 0),
      () => smoothGrad(layers, x4, 0, { samples: 3 }),
      () => integratedGradients(net.model, x3, 0, { steps: 4, baseline: ref }),
      () => occlusion(net.model, x4, 0, { patchSize: 2, reference: ref4 }),
      () => meaningfulPerturbation(net.model, x3, 0, { steps: 3, upsample: 2, reference: ref }),
      () => deletionInsertion(net.model, x3, sal, 0, { steps: 4 }),
      () => pointingGame(sal, region),
      () => gradientSaliency(graph, gx, 'top'),
    ];
    for (const call of calls) {
      const before = snapshot();
      const r = (await call()) as { dispose?: () => void };
      r?.dispose?.();
      r?.dispose?.();
      expectRestored(before);
    }
    await expectUntouched('after baselines and metrics');
  });

  it('the result owns its tensors until dispose(); dispose() twice is harmless', async () => {
    const before = snapshot();
    const r = await explain(net.model, x3, 0, { steps: 5 });
    const owned = [r.mask, r.explanation, r.evidence, r.saliency];
    const saved = await Promise.all(owned.map(bits));
    // Other work in between: another run, a tidy, a failing run.
    (await explain(net.model, x3, 1, { steps: 3 })).dispose();
    tf.tidy(() => void tf.add(r.mask, 1));
    await rejection(explain(net.model, x3, 99));
    for (const [i, t] of owned.entries()) {
      expect(t.isDisposed).toBe(false);
      expect(await bits(t)).toEqual(saved[i]);
    }
    expect(tf.memory().numTensors - before.numTensors).toBe(4);
    r.dispose();
    expect(owned.every((t) => t.isDisposed)).toBe(true);
    r.dispose();
    expect(() => r.dispose()).not.toThrow();
    expectRestored(before);
    // Baseline results too.
    const g = await gradientSaliency(net.model, x3, 0);
    g.dispose();
    expect(() => g.dispose()).not.toThrow();
    expectRestored(before);
  });
});

describeEachBackend('determinism', () => {
  let net: ReturnType<typeof smallNet>;
  let graph: GraphModel;
  let x: tf.Tensor3D;
  let gx: tf.Tensor4D;
  beforeAll(async () => {
    net = smallNet(3, 4, 7);
    graph = await makeGraphModelFixture();
    x = uniform([6, 6, 3], 21, 0, 1) as tf.Tensor3D;
    gx = fixtureImage([1, 16, 16, 3]);
  });
  afterAll(() => {
    net.dispose();
    graph.dispose();
    tf.dispose([x, gx]);
  });

  async function run(model: ExplainableModel, input: tf.Tensor, options: ExplainOptions): Promise<number[][]> {
    const r = await explain(model, input, 'top', options);
    const out = [Array.from(await bits(r.mask)), Array.from(await bits(r.saliency)), r.history.map((h) => h.loss)];
    r.dispose();
    return out;
  }

  it('the same seed gives the same result, also after other runs; another seed gives another', async () => {
    const before = snapshot();
    const cases: Array<[ExplainableModel, tf.Tensor, ExplainOptions]> = [
      [net.model, x, { steps: 15, reference: 'noise', seed: 5 }],
      [net.model, x, { steps: 15, game: 'deletion', parameterization: 'sigmoid' }],
      [graph, gx, { steps: 8, reference: 'noise', seed: 5, optimizer: 'sgd' }],
    ];
    const first = [];
    for (const [m, i, o] of cases) first.push(await run(m, i, o));
    // Other work in between (other models, other seeds), then the same again, in reverse order.
    await run(graph, gx, { steps: 3, reference: 'noise', seed: 99 });
    for (let k = cases.length - 1; k >= 0; k--) {
      const [m, i, o] = cases[k]!;
      expect(await run(m, i, o), `case ${k}`).toEqual(first[k]);
    }
    const other = await run(net.model, x, { steps: 15, reference: 'noise', seed: 6 });
    expect(other[0]).not.toEqual(first[0]![0]);
    const s1 = await smoothGrad(net.model, x, 0, { samples: 4, seed: 3 });
    const s2 = await smoothGrad(net.model, x, 0, { samples: 4, seed: 3 });
    expect(await bits(s1.saliency)).toEqual(await bits(s2.saliency));
    s1.dispose();
    s2.dispose();
    expectRestored(before);
  });
});
