// The contract every baseline shares: the call shape, a [H,W] saliency in
// [0, 1] on every model kind, errors that name the function and the
// argument, no tensors left behind on success or failure, the user's input
// untouched.
import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BASELINES, type BaselineName } from '../../src/baselines';
import { describeEachBackend } from '../backends';
import { fixtureImage, GRAPH_FIXTURE_INPUT_SHAPE, makeGraphModelFixture } from '../fixtures/graph-model';
import { checked, rejects } from './helpers';
import { blobSequential, blobImage, values } from './models';

const NAMES = Object.keys(BASELINES) as BaselineName[];

/** Fast settings per method, so the contract runs in little time. */
const FAST: Record<BaselineName, object> = {
  gradient: {},
  smoothGrad: { samples: 3 },
  integratedGradients: { steps: 4, batchSize: 4 },
  gradCam: {},
  occlusion: { patchSize: 4, stride: 4 },
  meaningfulPerturbation: { steps: 3, upsample: 4 },
};

/** Calls to the model before it fails: inside the gradient, sampling, batch or optimisation loop. */
const FAIL_AFTER: Record<BaselineName, number> = {
  gradient: 2,
  smoothGrad: 3,
  integratedGradients: 6,
  gradCam: 2,
  occlusion: 6,
  meaningfulPerturbation: 5,
};

const call = (name: BaselineName, ...args: unknown[]) => (BASELINES[name] as (...a: unknown[]) => Promise<{ saliency: tf.Tensor2D; target: number; dispose(): void }>)(...args);

describeEachBackend('baseline contract', () => {
  let graph: GraphModel;
  let layers: ReturnType<typeof blobSequential>;
  let gx: tf.Tensor4D;
  let lx: tf.Tensor3D;
  beforeAll(async () => {
    graph = await makeGraphModelFixture();
    layers = blobSequential(16);
    gx = fixtureImage(GRAPH_FIXTURE_INPUT_SHAPE, 5);
    lx = tf.reshape(blobImage(16, 2, 2, 5), [16, 16, 3]) as tf.Tensor3D;
  });
  afterAll(() => {
    graph.dispose();
    layers.dispose();
    tf.dispose([gx, lx]);
  });

  for (const name of NAMES) {
    it(`${name}: a [H,W] saliency in [0, 1] on a GraphModel and a LayersModel; 'top' resolves; input untouched; no leaks`, async () => {
      for (const [model, x] of [[graph, gx], [layers, lx]] as const) {
        const copy = Array.from(values(x));
        await checked(
          () => call(name, model, x, 'top', FAST[name]),
          (r) => {
            expect(r.saliency.shape).toEqual([16, 16]);
            expect(r.saliency.dtype).toBe('float32');
            const s = values(r.saliency);
            expect(s.every((v) => v >= 0 && v <= 1 && Number.isFinite(v))).toBe(true);
            const probs = values(tf.softmax(tf.log(model === graph ? (graph.predict(gx) as tf.Tensor) : tf.softmax(layers.predict(tf.expandDims(lx)) as tf.Tensor))));
            expect(r.target).toBe(probs.indexOf(Math.max(...probs)));
          },
        );
        expect(x.isDisposed).toBe(false);
        expect(Array.from(values(x))).toEqual(copy);
      }
    });

    it(`${name}: errors name the function and the argument, and leave nothing behind`, async () => {
      const fn = name === 'gradient' ? 'gradientSaliency' : name;
      await rejects(() => call(name, graph, gx, 'top', { bogus: 1 }), new RegExp(`^Error in ${fn}: options\\.bogus is not a known option`));
      await rejects(() => call(name, graph, gx, 'top', 'fast'), new RegExp(`^Error in ${fn}: options must be an object`));
      await rejects(() => call(name, graph, gx, 'top', { scores: 'logit' }), new RegExp(`^Error in ${fn}: options\\.scores must be one of 'auto', 'probabilities', 'logits'`));
      const flat = tf.zeros([16, 16]);
      await rejects(() => call(name, graph, flat, 'top'), new RegExp(`^Error in ${fn}: input must be rank 3`));
      flat.dispose();
      await rejects(() => call(name, graph, gx, 7), new RegExp(`^Error in ${fn}: target must be 'top' or an integer class index in \\[0, 4\\]`));
      await rejects(() => call(name, graph, gx, 'top', { outputNode: 'missing' }), /missing/);
      await rejects(() => call(name, {}, gx, 'top'), new RegExp(`^Error in ${fn}: model must be a tfjs GraphModel`));
      // A model that fails in the middle of the work (after the passes that
      // validate it): no tensor is left behind.
      let calls = 0;
      const flaky = (x: tf.Tensor4D) => {
        calls += 1;
        if (calls > FAIL_AFTER[name]) throw new Error('flaky model failed');
        return graph.predict(x) as tf.Tensor;
      };
      const opts = name === 'gradCam' ? { split: { features: (x: tf.Tensor4D) => tf.relu(x), head: (f: tf.Tensor4D) => flaky(f) } } : FAST[name];
      await rejects(() => call(name, flaky, gx, 'top', opts), /flaky model failed/);
    });
  }

  it('gradientSaliency: typos get a suggestion; a disposed input is rejected', async () => {
    await rejects(() => BASELINES.gradient(graph, gx, 'top', { channel: 'max' } as never), /did you mean 'channels'/);
    await rejects(() => BASELINES.smoothGrad(graph, gx, 'top', { sample: 3 } as never), /did you mean 'samples'/);
    await rejects(() => BASELINES.integratedGradients(graph, gx, 'top', { step: 3 } as never), /did you mean 'steps'/);
    await rejects(() => BASELINES.smoothGrad(graph, gx, 'top', { noise: -1 }), /Error in smoothGrad: options\.noise must be a finite number >= 0/);
    await rejects(() => BASELINES.integratedGradients(graph, gx, 'top', { baseline: 'grey' as never }), /Error in integratedGradients: options\.baseline must be 'zero', 'mean', 'blur', 'noise', a finite number or one per channel, or a tensor, got "grey"/);
    const small = tf.zeros([2, 2, 3]);
    await rejects(() => BASELINES.integratedGradients(graph, gx, 'top', { baseline: small }), /Error in integratedGradients: options\.baseline must have the input's shape/);
    small.dispose();
    await rejects(() => BASELINES.gradient(graph, gx, 'top', { score: 'logit' }), /Error in gradientSaliency: options\.score is 'logit' but the model's output is read as probabilities/);
    const d = tf.zeros([16, 16, 3]);
    d.dispose();
    await rejects(() => BASELINES.gradient(graph, d, 'top'), /Error in gradientSaliency: input is a disposed tensor/);
    const controller = new AbortController();
    controller.abort();
    await rejects(() => BASELINES.smoothGrad(graph, gx, 'top', { signal: controller.signal }), /abort/i);
  });
});
