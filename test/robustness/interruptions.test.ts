/**
 * Interruptions: an abort before the first step, during the set-up, in the
 * middle of a step (from inside the model, while the hooks are installed),
 * between steps (from onStep and from the event loop), after the last step;
 * an onStep that throws or rejects. Every one rejects with the signal's
 * reason (or the callback's error) and leaves zero leaked tensors and the
 * registries exactly as they were.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { explain, type ExplainOptions } from '../../src';
import { integratedGradients, meaningfulPerturbation, occlusion, smoothGrad } from '../../src/baselines';
import { describeEachBackend } from '../backends';
import { fixtureImage, makeGraphModelFixture } from '../fixtures/graph-model';
import { expectRestored, rejection, reportCounts, smallNet, snapshot, uniform } from './helpers';

reportCounts('interruptions');

/** Settings every interruption is tried with: defense on and off, both masks, fixed and automatic lambda. */
const VARIANTS: ExplainOptions[] = [
  {},
  { defense: false },
  { parameterization: 'sigmoid', lambda: 0.5 },
  { game: 'deletion', optimizer: 'sgd', readEvery: 3 },
];

describeEachBackend('interruptions', () => {
  let net: ReturnType<typeof smallNet>;
  let x: tf.Tensor3D;
  let graph: GraphModel;
  let gx: tf.Tensor4D;
  beforeAll(async () => {
    net = smallNet();
    x = uniform([6, 6, 3], 4, 0, 1) as tf.Tensor3D;
    graph = await makeGraphModelFixture();
    gx = fixtureImage([1, 16, 16, 3]);
  });
  afterAll(() => {
    net.dispose();
    graph.dispose();
    tf.dispose([x, gx]);
  });

  /** The models to interrupt: a function model and a GraphModel with fused ops (kernel patches active). */
  const models = () =>
    [
      [net.model as (v: tf.Tensor4D) => tf.Tensor, x as tf.Tensor],
      [(v: tf.Tensor4D) => graph.execute(v) as tf.Tensor, gx as tf.Tensor],
    ] as const;

  it('abort before the first step: the model is never called', async () => {
    for (const reason of [undefined, new Error('stop'), 'a string reason']) {
      const c = new AbortController();
      c.abort(reason);
      let calls = 0;
      const before = snapshot();
      const e = await rejection(explain((v) => (calls++, net.model(v)), x, 0, { signal: c.signal }));
      if (reason === undefined) expect((e as Error).name).toBe('AbortError');
      else expect(e).toBe(reason);
      expect(calls).toBe(0);
      expectRestored(before);
    }
  });

  it('abort during the set-up (inside the first model call, before any step)', async () => {
    for (const at of [1, 2, 3]) {
      const c = new AbortController();
      const reason = new Error(`setup ${at}`);
      let calls = 0;
      const model = (v: tf.Tensor4D) => {
        if (++calls === at) c.abort(reason);
        return net.model(v);
      };
      const before = snapshot();
      const seen: number[] = [];
      await expect(explain(model, x, 0, { signal: c.signal, onStep: (s) => void seen.push(s.step) })).rejects.toBe(reason);
      expect(seen).toEqual([]);
      expectRestored(before);
    }
  });

  it('abort mid-step, from inside the model while the hooks are installed: no further step runs', async () => {
    for (const [model, input] of models()) {
      for (const variant of VARIANTS) {
        for (const abortAt of [1, 4]) {
          const c = new AbortController();
          const reason = new Error(`abort in step ${abortAt}`);
          const stock = tf.getGradient('Relu');
          let step = 0;
          let hooked = false;
          let callsAfterAbort = 0;
          const wrapped = (v: tf.Tensor4D) => {
            if (c.signal.aborted) callsAfterAbort += 1;
            // Calls under a tape are step calls (the first ones are plain forward passes).
            if ((tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0) {
              step += 1;
              if (step === abortAt + (variant.parameterization === 'sigmoid' && variant.defense !== false ? 1 : 0)) {
                hooked = tf.getGradient('Relu') !== stock;
                c.abort(reason);
              }
            }
            return model(v);
          };
          const before = snapshot();
          // (No early stop, and a back-off guard that cannot end the run: every requested step runs unless aborted.)
          await expect(explain(wrapped, input, 0, { steps: 20, earlyStop: false, backoff: false, signal: c.signal, ...variant })).rejects.toBe(reason);
          expect(hooked).toBe(variant.defense !== false);
          expect(callsAfterAbort).toBe(0);
          expectRestored(before, JSON.stringify(variant));
        }
      }
    }
  });

  it('abort between steps: from onStep, and from the event loop while the run yields', async () => {
    for (const [model, input] of models()) {
      for (const variant of VARIANTS) {
        const c = new AbortController();
        const reason = new Error('from onStep');
        const before = snapshot();
        await expect(explain(model, input, 0, { steps: 30, earlyStop: false, backoff: false, signal: c.signal, ...variant, onStep: (s) => void (s.step === 5 && c.abort(reason)) })).rejects.toBe(reason);
        expectRestored(before, JSON.stringify(variant));

        // An abort from a timer: fires while explain yields between steps.
        const d = new AbortController();
        const later = new Error('from a timer');
        let steps = 0;
        const before2 = snapshot();
        const run = explain(model, input, 0, { steps: 300, earlyStop: false, signal: d.signal, ...variant, onStep: () => void steps++ });
        const timer = setImmediate(() => setImmediate(() => d.abort(later)));
        await expect(run).rejects.toBe(later);
        clearImmediate(timer);
        expect(steps).toBeLessThan(300);
        expectRestored(before2, JSON.stringify(variant));
      }
    }
  });

  it('abort after the last step (during the final scoring): the result is not returned and is freed', async () => {
    const c = new AbortController();
    const reason = new Error('late');
    let calls = 0;
    let stepsDone = false;
    const model = (v: tf.Tensor4D) => {
      calls++;
      if (stepsDone) c.abort(reason);
      return net.model(v);
    };
    const before = snapshot();
    const run = explain(model, x, 0, { steps: 4, earlyStop: false, signal: c.signal, onStep: (s) => void (stepsDone = s.step === 4) });
    await expect(run).rejects.toBe(reason);
    expect(calls).toBeGreaterThan(3 + 4);
    expectRestored(before);
  });

  it('onStep that throws or rejects: the run stops with that error', async () => {
    for (const [model, input] of models()) {
      for (const variant of VARIANTS) {
        for (const kind of ['throw', 'reject', 'reject-later'] as const) {
          for (const at of [1, 3]) {
            const err = new TypeError(`${kind} at ${at}`);
            const onStep = (s: { step: number }) => {
              if (s.step !== at) return undefined;
              if (kind === 'throw') throw err;
              if (kind === 'reject') return Promise.reject(err);
              return new Promise<void>((_, reject) => setTimeout(() => reject(err), 1));
            };
            const before = snapshot();
            await expect(explain(model, input, 0, { steps: 10, ...variant, onStep })).rejects.toBe(err);
            expectRestored(before, `${kind} ${JSON.stringify(variant)}`);
          }
        }
      }
    }
  });

  it('baselines with a signal: abort mid-run from inside the model', async () => {
    const runs: Array<(model: (v: tf.Tensor4D) => tf.Tensor, signal: AbortSignal) => Promise<unknown>> = [
      (m, signal) => smoothGrad(m, x, 0, { samples: 8, signal }),
      (m, signal) => integratedGradients(m, x, 0, { steps: 8, signal }),
      (m, signal) => occlusion(m, x, 0, { patchSize: 2, stride: 1, batchSize: 1, signal }),
      (m, signal) => meaningfulPerturbation(m, x, 0, { steps: 20, upsample: 2, signal }),
    ];
    for (const run of runs) {
      const c = new AbortController();
      const reason = new Error('baseline stop');
      let calls = 0;
      const model = (v: tf.Tensor4D) => {
        if (++calls === 6) c.abort(reason);
        return net.model(v);
      };
      const before = snapshot();
      await expect(run(model, c.signal)).rejects.toBe(reason);
      expectRestored(before);
    }
  });
});
