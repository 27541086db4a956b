// Grad-CAM on models whose evidence location is known: a blob detector whose
// class-1 logit is the mean activation of a feature that fires only on the
// blob (top-left quadrant). As a function model with a split, a Sequential
// and a functional LayersModel (automatic layer choice), a hand-written
// GraphModel (automatic node choice, intermediate-node feeding), and the
// shared MobileNet-like GraphModel fixture.
import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gradCam } from '../../src/baselines';
import { describeEachBackend } from '../backends';
import { fixtureImage, GRAPH_FIXTURE_INPUT_SHAPE, makeGraphModelFixture } from '../fixtures/graph-model';
import { checked, maxAbsDiff, rejects } from './helpers';
import { argmax2d, blobFunctional, blobFunctionModel, blobGraphModel, blobImage, blobSequential, topLeftMass, values } from './models';

const S = 16;

function expectTopLeft(saliency: tf.Tensor2D): void {
  const [r, c] = argmax2d(saliency);
  expect(r).toBeLessThan(S / 2);
  expect(c).toBeLessThan(S / 2);
  expect(topLeftMass(saliency)).toBeGreaterThan(0.95);
  const s = values(saliency);
  expect(Math.min(...s)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...s)).toBeCloseTo(1, 5);
}

describeEachBackend('gradCam', (backend) => {
  let image: tf.Tensor4D;
  let fnModel: ReturnType<typeof blobFunctionModel>;
  let sequential: ReturnType<typeof blobSequential>;
  let functional: ReturnType<typeof blobFunctional>;
  let graph: GraphModel;
  let fixture: GraphModel;
  beforeAll(async () => {
    image = blobImage(S, 2, 3, 4);
    fnModel = blobFunctionModel();
    sequential = blobSequential(S);
    functional = blobFunctional(S);
    graph = await blobGraphModel(S);
    fixture = await makeGraphModelFixture();
  });
  afterAll(() => {
    image.dispose();
    fnModel.dispose();
    sequential.dispose();
    functional.dispose();
    graph.dispose();
    fixture.dispose();
  });

  it('peaks on the blob for a function model split at its feature map; the CAM is the feature map times alpha', async () => {
    await checked(
      () => gradCam(fnModel.f, image, 1, { split: fnModel.split }),
      (r) => {
        expect(r.layer).toBe('split');
        expect(r.saliency.shape).toEqual([S, S]);
        expectTopLeft(r.saliency);
        // Class 1 = softmax of [0, 4 mean(A)]: alpha = (1 - p1) * 4 / (S * S) > 0, cam = alpha * A.
        const a = fnModel.split.features(image);
        const p1 = values(fnModel.f(image))[1]!;
        const alpha = ((1 - p1) * 4) / (S * S);
        expect(values(r.weights)[0]).toBeCloseTo(alpha, 6);
        expect(maxAbsDiff(values(r.cam), values(tf.mul(tf.reshape(a, [S, S]), alpha)))).toBeLessThan(1e-6);
      },
    );
    // Class 0's evidence is the absence of the blob: the ReLU leaves nothing.
    await checked(
      () => gradCam(fnModel.f, image, 0, { split: fnModel.split }),
      (r) => expect(Math.max(...values(r.saliency))).toBe(0),
    );
  });

  it('a function model without a split is rejected with a clear error', async () => {
    await rejects(() => gradCam(fnModel.f, image, 1), /Error in gradCam: options\.split is required for a function model/);
  });

  it('chooses the last 4D layer of a Sequential model (conv2, before global pooling) and peaks on the blob', async () => {
    await checked(
      () => gradCam(sequential, image, 1),
      (r) => {
        expect(r.layer).toBe('conv2');
        expect(r.score).toBe('logit');
        expect(r.cam.shape).toEqual([S, S]);
        expectTopLeft(r.saliency);
        // The logit is 4 mean(A): alpha = 4 / S^2 exactly.
        expect(values(r.weights)[0]).toBeCloseTo(4 / (S * S), 6);
      },
    );
    await checked(
      () => gradCam(sequential, image, 1, { layer: 'conv1' }),
      (r) => {
        expect(r.layer).toBe('conv1');
        expectTopLeft(r.saliency);
      },
    );
    await rejects(() => gradCam(sequential, image, 1, { layer: 'logits' }), /Error in gradCam: options\.layer must name a layer with a \[batch,h,w,K\] output/);
    await rejects(() => gradCam(sequential, image, 1, { layer: 'conv3' }), /Error in gradCam: options\.layer must be the name of a layer .* conv2, conv1/);
  });

  it('chooses the last 4D tensor of a functional model with a skip connection (the add) and peaks on the blob', async () => {
    await checked(
      () => gradCam(functional, image, 1),
      (r) => {
        expect(r.layer).toBe('sum');
        expect(r.score).toBe('log-probability');
        expectTopLeft(r.saliency);
      },
    );
  });

  it('chooses the last 4D node of a GraphModel (the Relu before Mean) and peaks on the blob', async () => {
    await checked(
      () => gradCam(graph, image, 1),
      (r) => {
        expect(r.layer).toBe('features');
        expectTopLeft(r.saliency);
      },
    );
    await rejects(() => gradCam(graph, image, 1, { layer: 'pool' }), /Error in gradCam: options\.layer must name a node with a float32 \[1,h,w,K\] output/);
    await rejects(() => gradCam(graph, image, 1, { layer: 'nope' }), /Error in gradCam: options\.layer must be a node of the GraphModel/);
  });

  it('a GraphModel-like object whose topology cannot be read needs options.layer, and works with it', async () => {
    const bare = {
      execute: graph.execute.bind(graph),
      executeAsync: graph.executeAsync.bind(graph),
      inputNodes: graph.inputNodes,
      outputNodes: graph.outputNodes,
      inputs: graph.inputs,
    };
    await rejects(() => gradCam(bare, image, 1), /Error in gradCam: cannot read the GraphModel's topology .* pass options\.layer/);
    await checked(
      () => gradCam(bare, image, 1, { layer: 'features' }),
      (r) => expectTopLeft(r.saliency),
    );
    await rejects(() => gradCam(bare, image, 1, { layer: 'nope' }), /Error in gradCam: options\.layer must be a node of the GraphModel/);
  });

  it('on the MobileNet-like GraphModel fixture: picks block3/conv/Relu, and the weights match finite differences through the fed node', async () => {
    const x = fixtureImage(GRAPH_FIXTURE_INPUT_SHAPE, 3);
    const node = 'block3/conv/Relu';
    await checked(
      () => gradCam(fixture, x, 2),
      (r) => {
        expect(r.layer).toBe(node);
        expect(r.cam.shape).toEqual([4, 4]);
        expect(r.weights.shape).toEqual([12]);
        const s = values(r.saliency);
        expect(s.every((v) => v >= 0 && v <= 1)).toBe(true);
        // Feeding the node's own value reproduces the output; feeding another value changes it.
        const a = fixture.execute(x, node) as tf.Tensor4D;
        const out = fixture.execute(x) as tf.Tensor;
        const fed = fixture.execute({ input: x, [node]: a }, 'Identity') as tf.Tensor;
        expect(maxAbsDiff(values(fed), values(out))).toBeLessThan(1e-6);
        expect(maxAbsDiff(values(fixture.execute({ input: x, [node]: tf.mul(a, 0) }, 'Identity') as tf.Tensor), values(out))).toBeGreaterThan(1e-4);
        // alpha_k * h * w = d score / d eps of A + eps * 1_k (central differences on log p2).
        const score = (feat: tf.Tensor) => Math.log(values(fixture.execute({ input: x, [node]: feat }, 'Identity') as tf.Tensor)[2]!);
        const w = values(r.weights);
        const eps = 1e-2;
        for (const k of [0, 5, 11]) {
          const e = tf.mul(tf.oneHot(tf.fill([1, 4, 4], k, 'int32') as tf.Tensor, 12), eps);
          const fd = (score(tf.add(a, e)) - score(tf.sub(a, e))) / (2 * eps);
          expect(Math.abs(fd - w[k]! * 16)).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
        }
      },
    );
    await checked(
      () => gradCam(fixture, x, 2, { layer: 'block1/conv/Relu' }),
      (r) => expect(r.cam.shape).toEqual([16, 16]),
    );
    x.dispose();
  });

  it(`rejects bad options naming gradCam and the option [${backend}]`, async () => {
    await rejects(() => gradCam(sequential, image, 1, { layr: 'conv1' } as never), /Error in gradCam: options\.layr is not a known option \(did you mean 'layer'\?\)/);
    await rejects(() => gradCam(sequential, image, 1, { layer: 3 } as never), /Error in gradCam: options\.layer must be a non-empty layer or node name/);
    await rejects(() => gradCam(sequential, image, 1, { split: {} } as never), /Error in gradCam: options\.split must be an object/);
    await rejects(() => gradCam(sequential, image, 5), /Error in gradCam: target must be 'top' or an integer class index in \[0, 1\]/);
    await rejects(
      () => gradCam(fnModel.f, image, 1, { split: { features: () => tf.zeros([1, 4]), head: fnModel.split.head } }),
      /Error in gradCam: options\.split\.features must return a float32 Tensor4D/,
    );
  });
});
