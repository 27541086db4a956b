/**
 * Concurrency in one event loop: several explain() calls (and baselines)
 * interleaved on the same and on different models give bit-for-bit the
 * results of running them one by one; a failing or aborted run does not
 * disturb the others; user code running tfjs between fgvis steps sees stock
 * tfjs (registries and gradient values).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { explain, type ExplainOptions, type ExplainableModel } from '../../src';
import { gradientSaliency, smoothGrad } from '../../src/baselines';
import { seededRandom } from '../../src/util/random';
import { describeEachBackend } from '../backends';
import { fixtureImage, makeGraphModelFixture } from '../fixtures/graph-model';
import { bits, expectRegistriesRestored, expectRestored, registrySnapshot, rejection, reportCounts, smallNet, snapshot, uniform } from './helpers';

reportCounts('concurrency');

interface Job {
  model: ExplainableModel;
  input: tf.Tensor;
  target: number | 'top';
  options: ExplainOptions;
}

/** Everything a run returns, as plain bits (compared exactly). */
async function outcome(job: Job, extra: ExplainOptions = {}): Promise<Record<string, unknown>> {
  const r = await explain(job.model, job.input, job.target, { ...job.options, ...extra });
  try {
    return {
      mask: Array.from(await bits(r.mask)),
      explanation: Array.from(await bits(r.explanation)),
      saliency: Array.from(await bits(r.saliency)),
      scores: r.scores,
      lambda: r.lambda,
      steps: r.steps,
      history: r.history,
      filtered: r.gatedOutputs,
      target: r.target,
    };
  } finally {
    r.dispose();
  }
}

/** A random pause of 0-2 event-loop turns, so that interleavings vary between the runs. */
function jitter(seed: number): () => Promise<void> {
  const rnd = seededRandom(seed);
  return async () => {
    const turns = Math.floor(rnd() * 3);
    for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
  };
}

describeEachBackend('concurrency', () => {
  let net: ReturnType<typeof smallNet>;
  let net2: ReturnType<typeof smallNet>;
  let graph: GraphModel;
  let layers: tfl.LayersModel;
  let x: tf.Tensor3D;
  let gx: tf.Tensor4D;
  let lx: tf.Tensor3D;
  let jobs: Job[];
  beforeAll(async () => {
    net = smallNet(3, 4, 1);
    net2 = smallNet(3, 5, 20);
    graph = await makeGraphModelFixture();
    layers = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [6, 6, 3], filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: tfl.initializers.glorotNormal({ seed: 3 }) }),
        tfl.layers.leakyReLU({ alpha: 0.2 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotNormal({ seed: 4 }) }),
      ],
    });
    x = uniform([6, 6, 3], 4, 0, 1) as tf.Tensor3D;
    gx = fixtureImage([1, 16, 16, 3]);
    lx = uniform([6, 6, 3], 8, 0, 1) as tf.Tensor3D;
    jobs = [
      { model: net.model, input: x, target: 0, options: { steps: 12 } },
      { model: net.model, input: x, target: 'top', options: { steps: 10, game: 'deletion', reference: 'noise', seed: 3 } },
      { model: net2.model, input: x, target: 1, options: { steps: 8, parameterization: 'sigmoid', lambda: 0.3 } },
      { model: graph, input: gx, target: 'top', options: { steps: 8, readEvery: 3 } },
      { model: layers, input: lx, target: 2, options: { steps: 9, optimizer: 'sgd', reference: 'blur', blurSigma: 1 } },
    ];
  });
  afterAll(() => {
    net.dispose();
    net2.dispose();
    graph.dispose();
    layers.dispose();
    tf.dispose([x, gx, lx]);
  });

  it('interleaved runs on the same and on different models equal sequential runs, bit for bit', async () => {
    const before = snapshot();
    const sequential: Array<Record<string, unknown>> = [];
    for (const job of jobs) sequential.push(await outcome(job, { onStep: () => undefined }));
    for (const seed of [1, 2]) {
      const interleaved = await Promise.all(jobs.map((job, i) => outcome(job, { onStep: jitter(seed * 10 + i) })));
      interleaved.forEach((r, i) => expect(r, `job ${i}`).toEqual(sequential[i]));
    }
    // The same job several times at once.
    const same = await Promise.all([0, 1, 2].map(() => outcome(jobs[0]!, { onStep: () => undefined })));
    for (const r of same) expect(r).toEqual(sequential[0]);
    expectRestored(before);
  });

  it('baselines interleaved with explain give their sequential results', async () => {
    const before = snapshot();
    const grad = async () => {
      const r = await gradientSaliency(net.model, x, 0);
      const out = Array.from(await bits(r.saliency));
      r.dispose();
      return out;
    };
    const smooth = async () => {
      const r = await smoothGrad(graph, gx, 'top', { samples: 4, seed: 2 });
      const out = Array.from(await bits(r.saliency));
      r.dispose();
      return out;
    };
    const alone = [await grad(), await smooth(), await outcome(jobs[3]!, { onStep: () => undefined })];
    const together = await Promise.all([grad(), smooth(), outcome(jobs[3]!, { onStep: jitter(5) }), grad()]);
    expect(together[0]).toEqual(alone[0]);
    expect(together[1]).toEqual(alone[1]);
    expect(together[2]).toEqual(alone[2]);
    expect(together[3]).toEqual(alone[0]);
    expectRestored(before);
  });

  it('a run that fails and a run that is aborted do not disturb the runs beside them', async () => {
    const reference = await outcome(jobs[0]!, { onStep: () => undefined });
    const before = snapshot();
    let calls = 0;
    const failing = (v: tf.Tensor4D) => {
      if (++calls === 6) throw new Error('one model fails');
      return net.model(v);
    };
    const c = new AbortController();
    const reason = new Error('aborted beside');
    const results = await Promise.allSettled([
      outcome(jobs[0]!, { onStep: jitter(1) }),
      explain(failing, x, 0, { steps: 10 }),
      explain(graph, gx, 'top', { steps: 50, signal: c.signal, onStep: (s) => void (s.step === 3 && c.abort(reason)) }),
      outcome(jobs[0]!, { onStep: jitter(2) }),
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: reference });
    expect(results[1]!.status).toBe('rejected');
    expect((results[1] as PromiseRejectedResult).reason.message).toMatch(/one model fails/);
    expect(results[2]).toEqual({ status: 'rejected', reason });
    expect(results[3]).toEqual({ status: 'fulfilled', value: reference });
    expectRestored(before);
  });

  it('user code running tfjs between fgvis steps sees stock tfjs', async () => {
    // Gradients a user computes: through the activation family, and a filter gradient (zeroed during a step).
    const w = uniform([3, 3, 3, 2], 30) as tf.Tensor4D;
    const probe = () =>
      tf.tidy(() => {
        const v = uniform([1, 5, 5, 3], 31);
        const acts = [tf.relu, tf.relu6, (t: tf.Tensor) => tf.leakyRelu(t, 0.1), tf.elu, tf.selu, (t: tf.Tensor) => tf.clipByValue(t, -0.2, 0.3), (t: tf.Tensor) => tf.prelu(t, tf.scalar(0.25))];
        const f = (t: tf.Tensor) => tf.sum(acts.reduce((h, a) => tf.add(h, a(tf.conv2d(t as tf.Tensor4D, w, 1, 'same'))), tf.scalar(0)));
        const dx = tf.grad(f)(v);
        // (Stock wasm has no Conv2DBackpropFilter: a filter gradient is probed on cpu only.)
        if (tf.getBackend() === 'wasm') return tf.reshape(dx, [-1]);
        const dw = tf.grad((k: tf.Tensor) => tf.sum(tf.relu(tf.conv2d(v as tf.Tensor4D, k as tf.Tensor4D, 1, 'same'))))(w);
        return tf.concat([tf.reshape(dx, [-1]), tf.reshape(dw, [-1])]);
      });
    const stockValues = async () => {
      const t = probe();
      const b = Array.from(await bits(t));
      t.dispose();
      return b;
    };
    const stock = await stockValues();
    const stockRegistry = registrySnapshot();
    let checks = 0;
    const check = async () => {
      expectRegistriesRestored(stockRegistry, 'between steps:');
      expect(await stockValues()).toEqual(stock);
      checks++;
    };
    const before = snapshot();
    let ticking = true;
    // A "page" running its own tfjs code on every event-loop turn while the runs go on.
    const page = (async () => {
      while (ticking) {
        await check();
        await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all([
      explain(graph, gx, 'top', { steps: 6, onStep: check }).then((r) => r.dispose()),
      explain(net.model, x, 0, { steps: 6, parameterization: 'sigmoid', onStep: check }).then((r) => r.dispose()),
      smoothGrad(graph, gx, 'top', { samples: 3 }).then((r) => r.dispose()),
    ]);
    ticking = false;
    await page;
    expect(checks).toBeGreaterThan(12);
    expectRestored(before);
    w.dispose();
  });

  it('a run started from inside another run\'s onStep (nested in the event loop) works and restores everything', async () => {
    const before = snapshot();
    const expected = await outcome(jobs[2]!);
    let inner: Record<string, unknown> | null = null;
    const r = await explain(net.model, x, 0, {
      steps: 4,
      onStep: async (s) => {
        if (s.step === 2) inner = await outcome(jobs[2]!);
      },
    });
    r.dispose();
    expect(inner).toEqual(expected);
    expectRestored(before);
  });

  it('a model whose function itself calls explain() synchronously is refused clearly (hooks cannot nest)', async () => {
    // A model that runs a gradient filter pass inside a step: fgvis refuses nesting instead of corrupting state.
    const { captureBounds } = await import('../../src');
    const nesting = (v: tf.Tensor4D) => {
      if ((tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0) {
        captureBounds(() => tf.grad((t: tf.Tensor) => tf.sum(tf.relu(t)))(tf.ones([2])));
      }
      return net.model(v);
    };
    const before = snapshot();
    const e = await rejection(explain(nesting, x, 0, { steps: 3 }));
    expect(e.message).toMatch(/must not call captureBounds or withGradientFilter inside captureBounds/);
    expectRestored(before);
  });
});
