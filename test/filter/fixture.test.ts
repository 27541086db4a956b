/** The hand-written GraphModel fixtures load, predict like their tf-ops reference, and differentiate. */
import { inputGradientKernelsFor, maxAbs, maxAbsDiff } from './harness';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../backends';
import {
  activationZooReference,
  fixtureImage,
  GRAPH_FIXTURE_CLASSES,
  GRAPH_FIXTURE_INPUT_SHAPE,
  graphModelFixtureReference,
  makeActivationZooGraphModel,
  makeGraphModelFixture,
  ZOO_CLASSES,
  ZOO_INPUT_SHAPE,
} from '../fixtures/graph-model';

const FIXTURES = [
  { name: 'makeGraphModelFixture', make: makeGraphModelFixture, reference: graphModelFixtureReference, shape: GRAPH_FIXTURE_INPUT_SHAPE, classes: GRAPH_FIXTURE_CLASSES, needsKernels: true },
  { name: 'makeActivationZooGraphModel', make: makeActivationZooGraphModel, reference: activationZooReference, shape: ZOO_INPUT_SHAPE, classes: ZOO_CLASSES, needsKernels: false },
] as const;

describeEachBackend('GraphModel fixtures', (backend) => {
  for (const fx of FIXTURES) {
    it(`${fx.name}: predicts probabilities equal to its reference, and its input gradient equals the reference's`, async () => {
      const wrap = fx.needsKernels ? inputGradientKernelsFor(backend) : <T>(f: () => T) => f();
      const model = await fx.make();
      const before = tf.memory().numTensors;
      const x = fixtureImage(fx.shape, 3);
      tf.tidy(() => {
        const y = model.predict(x) as tf.Tensor;
        expect(y.shape).toEqual([1, fx.classes]);
        expect(tf.sum(y).dataSync()[0]).toBeCloseTo(1, 5);
        expect(maxAbsDiff(y, fx.reference(x))).toBeLessThan(1e-5);
        // Classes differ on different inputs (the net is not degenerate).
        const y2 = model.predict(fixtureImage(fx.shape, 4)) as tf.Tensor;
        expect(maxAbsDiff(y, y2)).toBeGreaterThan(1e-3);
        const score = (f: (v: tf.Tensor) => tf.Tensor) => (v: tf.Tensor) => tf.sum(tf.slice(f(v), [0, 1], [1, 1]));
        const g = wrap(() => tf.grad(score((v) => model.predict(v) as tf.Tensor))(x));
        const gr = wrap(() => tf.grad(score((v) => fx.reference(v as tf.Tensor4D)))(x));
        expect(maxAbs(g)).toBeGreaterThan(0);
        expect(maxAbsDiff(g, gr) / maxAbs(gr)).toBeLessThan(1e-4);
      });
      x.dispose();
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });
  }
});
