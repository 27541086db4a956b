/**
 * The gradient filter on whole models (a function with a residual add, a
 * LayersModel, two GraphModels), compared with an independent oracle: the same
 * network in plain tf ops whose activations are tf.customGrad ops that gate
 * their gradient with bounds computed from the oracle's own forward pass at x.
 */
import {
  classScore,
  disposeOracle,
  expectRegistryRestored,
  inputGradientKernelsFor,
  maxAbs,
  maxAbsDiff,
  oracleBounds,
  oracleGradient,
  snapshotRegistry,
  type ReferenceModel,
  type Wrap,
} from './harness';
import * as tf from '@tensorflow/tfjs-core';
import { ACTIVATION_KERNELS, PassThroughBound } from '../../src/filter';

/** The oracle gates the activations only: hook exactly those. */
const ORACLE = { gatedKernels: ACTIVATION_KERNELS };
import * as tfl from '@tensorflow/tfjs-layers';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FgvisModelError } from '../../src/util/errors';
import { captureBounds, withGradientFilter } from '../../src/filter';
import { describeEachBackend } from '../backends';
import {
  activationZooReference,
  fixtureImage,
  GRAPH_FIXTURE_ACTIVATIONS,
  GRAPH_FIXTURE_INPUT_SHAPE,
  graphModelFixtureReference,
  makeActivationZooGraphModel,
  makeGraphModelFixture,
  plainActivation,
  uniformValues,
  ZOO_ACTIVATIONS,
  ZOO_INPUT_SHAPE,
} from '../fixtures/graph-model';

// ---------------------------------------------------------------------------
// Fixture: a function model with a residual add

const FN_INPUT_SHAPE = [1, 8, 8, 3];
const fnWeightSpecs: Array<[string, number[]]> = [
  ['k1', [3, 3, 3, 4]],
  ['b1', [4]],
  ['k2', [3, 3, 4, 4]],
  ['b2', [4]],
  ['k3', [3, 3, 4, 6]],
  ['b3', [6]],
  ['wd', [6, 6]],
  ['bd', [6]],
  ['wo', [6, 3]],
];

function makeFunctionWeights(): Record<string, tf.Tensor> {
  return Object.fromEntries(
    fnWeightSpecs.map(([name, shape], i) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const fanIn = shape.length > 1 ? n / shape[shape.length - 1]! : 10;
      return [name, tf.tensor(uniformValues(n, Math.sqrt(6 / fanIn), 300 + i), shape)];
    }),
  );
}

/** relu conv -> leakyRelu conv -> residual add -> elu conv (stride 2) -> relu6 -> mean -> selu dense -> softmax. */
function functionModel(w: Record<string, tf.Tensor>): ReferenceModel {
  return (x, act) => {
    const h1 = act('Relu', tf.add(tf.conv2d(x, w.k1 as tf.Tensor4D, 1, 'same'), w.b1!), {}) as tf.Tensor4D;
    const h2 = act('LeakyRelu', tf.add(tf.conv2d(h1, w.k2 as tf.Tensor4D, 1, 'same'), w.b2!), { alpha: 0.2 });
    const r = tf.add(h1, h2) as tf.Tensor4D;
    const h3 = act('Elu', tf.add(tf.conv2d(r, w.k3 as tf.Tensor4D, 2, 'same'), w.b3!), {});
    const h4 = act('Relu6', tf.mul(h3, 3), {});
    const pooled = tf.mean(h4, [1, 2]) as tf.Tensor2D;
    const h5 = act('Selu', tf.add(tf.matMul(pooled, w.wd as tf.Tensor2D), w.bd!), {}) as tf.Tensor2D;
    return tf.softmax(tf.matMul(h5, w.wo as tf.Tensor2D));
  };
}
const FN_ACTIVATIONS = ['Relu', 'LeakyRelu', 'Elu', 'Relu6', 'Selu'];

// ---------------------------------------------------------------------------
// Fixture: a LayersModel

const LAYERS_INPUT_SHAPE = [1, 8, 8, 3];

/** conv(relu) -> conv(linear) -> ReLU(maxValue 1) -> conv(linear, stride 2) -> LeakyReLU(0.2) -> flatten -> dense(relu) -> dense(softmax). */
function makeLayersModel(): tfl.LayersModel {
  const input = tfl.input({ shape: LAYERS_INPUT_SHAPE.slice(1) });
  let h = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.reLU({ maxValue: 1 }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.leakyReLU({ alpha: 0.2 }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.flatten().apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.dense({ units: 6, activation: 'relu' }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax' }).apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  // Deterministic weights with non-zero biases.
  model.setWeights(
    model.getWeights().map((wt, i) => {
      const fanIn = wt.rank > 1 ? wt.size / wt.shape[wt.rank - 1]! : 10;
      return tf.tensor(uniformValues(wt.size, wt.rank > 1 ? Math.sqrt(6 / fanIn) : 0.1, 400 + i), wt.shape);
    }),
  );
  return model;
}

/** The LayersModel re-implemented in tf ops with its own weights. */
function layersReference(model: tfl.LayersModel): ReferenceModel {
  const [k1, b1, k2, b2, k3, b3, kd1, bd1, kd2, bd2] = model.getWeights() as tf.Tensor[];
  return (x, act) => {
    let h = act('Relu', tf.add(tf.conv2d(x, k1 as tf.Tensor4D, 1, 'same'), b1!), {}) as tf.Tensor4D;
    h = act('Relu', tf.add(tf.conv2d(h, k2 as tf.Tensor4D, 1, 'same'), b2!), {}) as tf.Tensor4D;
    h = act('ClipByValue', h, { min: 0, max: 1 }) as tf.Tensor4D;
    h = act('LeakyRelu', tf.add(tf.conv2d(h, k3 as tf.Tensor4D, 2, 'same'), b3!), { alpha: 0.2 }) as tf.Tensor4D;
    const flat = tf.reshape(h, [1, -1]) as tf.Tensor2D;
    const d = act('Relu', tf.add(tf.matMul(flat, kd1 as tf.Tensor2D), bd1!), {}) as tf.Tensor2D;
    return tf.softmax(tf.add(tf.matMul(d, kd2 as tf.Tensor2D), bd2!));
  };
}
const LAYERS_ACTIVATIONS = ['Relu', 'Relu', 'ClipByValue', 'LeakyRelu', 'Relu'];

// ---------------------------------------------------------------------------

interface ModelCase {
  name: string;
  inputShape: readonly number[];
  /** The model under test (opaque to the hook). */
  run: (x: tf.Tensor) => tf.Tensor;
  /** The same network with pluggable activations (for the oracle). */
  reference: ReferenceModel;
  /** Activation kernels in forward order. */
  activations: readonly string[];
  /** Needs the wasm kernel patches (depthwise or linear fused convs). */
  convGradients: boolean;
}

/** The explanation e = m * x with a deterministic mask in [0, 1). */
function explanation(x: tf.Tensor, seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    const m = tf.add(tf.tensor(uniformValues(x.size, 0.5, seed), x.shape), 0.5);
    return tf.mul(m, x) as tf.Tensor4D;
  });
}

describeEachBackend('gradient filter on models vs an independent oracle', (backend) => {
  const wrap: Wrap = inputGradientKernelsFor(backend);
  let graph: GraphModel;
  let zoo: GraphModel;
  let layers: tfl.LayersModel;
  let fnWeights: Record<string, tf.Tensor>;
  const cases: ModelCase[] = [];

  beforeAll(async () => {
    graph = await makeGraphModelFixture();
    zoo = await makeActivationZooGraphModel();
    layers = makeLayersModel();
    fnWeights = makeFunctionWeights();
    const fn = functionModel(fnWeights);
    cases.push(
      {
        name: 'function model with a residual add',
        inputShape: FN_INPUT_SHAPE,
        run: (x) => fn(x as tf.Tensor4D, plainActivation),
        reference: fn,
        activations: FN_ACTIVATIONS,
        convGradients: false,
      },
      {
        name: 'LayersModel (conv relu, ReLU maxValue, LeakyReLU, dense relu)',
        inputShape: LAYERS_INPUT_SHAPE,
        run: (x) => layers.apply(x, { training: false }) as tf.Tensor,
        reference: layersReference(layers),
        activations: LAYERS_ACTIVATIONS,
        convGradients: true, // its linear convs stay fused under a tape
      },
      {
        name: 'GraphModel fixture (fused conv/depthwise/matmul, residual)',
        inputShape: GRAPH_FIXTURE_INPUT_SHAPE,
        run: (x) => graph.predict(x) as tf.Tensor,
        reference: graphModelFixtureReference as ReferenceModel,
        activations: GRAPH_FIXTURE_ACTIVATIONS,
        convGradients: true,
      },
      {
        name: 'GraphModel activation zoo (LeakyRelu, Elu, Prelu, ClipByValue, Selu)',
        inputShape: ZOO_INPUT_SHAPE,
        run: (x) => zoo.predict(x) as tf.Tensor,
        reference: activationZooReference as ReferenceModel,
        activations: ZOO_ACTIVATIONS,
        convGradients: false,
      },
    );
  });

  afterAll(() => {
    graph?.dispose();
    zoo?.dispose();
    layers?.dispose();
    if (fnWeights) tf.dispose(Object.values(fnWeights));
  });

  const TITLES = [
    'function model with a residual add (5 activations)',
    'LayersModel (5 activations)',
    'GraphModel fixture (4 activations)',
    'GraphModel activation zoo (5 activations)',
  ];
  TITLES.forEach((title, index) => {
    it(`${title}: filtered input gradient equals the oracle's; bounds, counts and order are right`, async () => {
      const c = cases[index]!;
      const wrapped: Wrap = c.convGradients ? wrap : (f) => f();
      const snap = snapshotRegistry();
      const x = fixtureImage(c.inputShape, 11 + index);
      const e = explanation(x, 21 + index);
      const before = tf.memory().numTensors;

      // Sanity: the reference is the same network.
      tf.tidy(() => {
        expect(maxAbsDiff(c.run(x), c.reference(x, plainActivation))).toBeLessThan(1e-5);
      });
      const target = tf.tidy(() => tf.argMax(c.run(x), 1).dataSync()[0]!);
      const score = classScore(target);
      const inputGrad = (z: tf.Tensor) => wrapped(() => tf.grad((v: tf.Tensor) => score(c.run(v)))(z));

      // Capture at x: gradient unchanged; one bound per activation, in backward (= reverse forward) order.
      const plainX = inputGrad(x);
      const { result: gx, bounds } = captureBounds(() => inputGrad(x), ORACLE);
      expect(maxAbsDiff(gx, plainX)).toBe(0);
      expect(bounds.size).toBe(c.activations.length);
      expect(bounds.entries.map((b) => b.kernel)).toEqual([...c.activations].reverse());

      // The captured bounds equal the oracle's.
      const ob = oracleBounds(c.reference, x as tf.Tensor4D);
      expect(ob.map((b) => b.kind)).toEqual([...c.activations]);
      // An activation feeding another one directly needs no gate of its own (the
      // second one's gate implies it): it is passed through, and the gradient
      // below must still equal the oracle's, which gates every activation.
      const passed = bounds.entries.filter((b) => b instanceof PassThroughBound).length;
      bounds.entries.forEach((b, k) => {
        const o = ob[ob.length - 1 - k]!;
        expect(b.shape).toEqual(o.hi.shape);
        if (b instanceof PassThroughBound) return;
        expect(maxAbsDiff(b.lo, o.lo)).toBeLessThan(1e-5);
        expect(maxAbsDiff(b.hi, o.hi)).toBeLessThan(1e-5);
      });

      // Filter at e and compare with the oracle.
      const { result: ge, gated } = withGradientFilter(bounds, () => inputGrad(e), { measureBlocked: true });
      expect(gated.gatedOutputs).toBe(c.activations.length - passed);
      const stats = { blocked: 0, total: 0 };
      const go = wrapped(() => oracleGradient(c.reference, e, ob, score, stats));
      const plainE = inputGrad(e);
      const scale = Math.max(maxAbs(go), 1e-12);
      expect(maxAbsDiff(ge, go) / scale).toBeLessThan(1e-4);
      // The comparison is meaningful: the gate blocked neurons, and that changed the gradient.
      expect(stats.blocked).toBeGreaterThan(0);
      expect(stats.blocked).toBeLessThan(stats.total);
      expect(maxAbsDiff(ge, plainE) / Math.max(maxAbs(plainE), 1e-12)).toBeGreaterThan(1e-3);
      // The hook's own count of blocked neurons agrees with the oracle's (which counts every activation).
      if (passed === 0) {
        expect(gated.elements).toBe(stats.total);
        expect(await gated.blockedFraction).toBeCloseTo(stats.blocked / stats.total, 6);
      } else {
        expect(gated.elements).toBeLessThan(stats.total);
        await gated.blockedFraction;
      }

      // The same pass through tf.variableGrads on a mask variable (how an optimiser step takes it):
      // dL/dm = dL/de * x, with the same filtered dL/de.
      const mask = tf.tidy(() => tf.variable(tf.div(e, x), true, `filter-test-mask-${backend}-${index}`));
      const { result: vg } = withGradientFilter(bounds, () =>
        wrapped(() => tf.variableGrads(() => score(c.run(tf.mul(mask, x))), [mask])),
      );
      const viaChainRule = tf.mul(ge, x);
      expect(maxAbsDiff(vg.grads[mask.name]!, viaChainRule) / Math.max(maxAbs(viaChainRule), 1e-12)).toBeLessThan(1e-4);
      tf.dispose([vg.value, vg.grads[mask.name]!, viaChainRule, mask]);

      tf.dispose([plainX, gx, ge, go, plainE]);
      disposeOracle(ob);
      bounds.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, e]);
      expectRegistryRestored(snap);
    });
  });

  it('bounds from one model used with another model, or another input shape, give a clear error', () => {
    const snap = snapshotRegistry();
    const fn = cases[0]!;
    const zooCase = cases[3]!;
    // Both run on wasm without patches.
    const grad = (c: ModelCase, z: tf.Tensor) => tf.grad((v: tf.Tensor) => classScore(0)(c.run(v)))(z);
    const x = fixtureImage(fn.inputShape, 5);
    const xz = fixtureImage(zooCase.inputShape, 6);
    const x16 = fixtureImage([1, 16, 16, 3], 7);
    const before = tf.memory().numTensors;
    const { result, bounds } = captureBounds(() => grad(fn, x), ORACLE);
    result.dispose();
    const mid = tf.memory().numTensors;
    // Another model: both end in Selu, but of another shape.
    expect(() => withGradientFilter(bounds, () => grad(zooCase, xz))).toThrow(FgvisModelError);
    expect(() => withGradientFilter(bounds, () => grad(zooCase, xz))).toThrow(/gated output #1 of the backward pass is Selu \[1,4,4,6\], but captured bound #1 is Selu \[1,6\]/);
    // Same model, another input shape.
    expect(() => withGradientFilter(bounds, () => grad(fn, x16))).toThrow(/gated output #2 of the backward pass is Relu6 \[1,8,8,6\], but captured bound #2 is Relu6 \[1,4,4,6\]/);
    // Fewer activations than bounds (a prefix of the model).
    const fewer = (z: tf.Tensor) =>
      tf.grad((v: tf.Tensor) => tf.sum(tf.selu(tf.add(tf.matMul(tf.ones([1, 6]), fnWeights.wd as tf.Tensor2D), tf.mean(v)))))(z);
    expect(() => withGradientFilter(bounds, () => fewer(x))).toThrow(/visited 1 gated output\(s\), but 5 bound\(s\) were captured/);
    // More activations than bounds.
    const { result: r1, bounds: one } = captureBounds(() => fewer(x), ORACLE);
    r1.dispose();
    expect(() => withGradientFilter(one, () => grad(fn, x))).toThrow(/more gated outputs than the 1 captured/);
    one.dispose();
    expect(tf.memory().numTensors).toBe(mid);
    expectRegistryRestored(snap);
    bounds.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, xz, x16]);
  });
});
