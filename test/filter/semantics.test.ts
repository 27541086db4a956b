/**
 * The gradient filter on elementwise cases, with hand-computed expectations,
 * and its contract: registry restored, no leaks, clear errors.
 */
import { activationVjp, expectRegistryRestored, snapshotRegistry, type ActParams, type CustomGradient, type Kind } from './harness';
import * as tf from '@tensorflow/tfjs-core';
import { ACTIVATION_KERNELS } from '../../src/filter';

/** The oracle gates the activations only: hook exactly those. */
const ORACLE = { gatedKernels: ACTIVATION_KERNELS };
import { getGradient } from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { FgvisArgumentError, FgvisModelError } from '../../src/util/errors';
import {
  GateBounds,
  assertGradientsRegistered,
  captureBounds,
  DEFAULT_GATED_KERNELS,
  GradientFilter,
  withGradientFilter,
} from '../../src/filter';
import { swapGradients } from '../../src/util/kernel-registry';
import { describeEachBackend } from '../backends';
import { plainActivation } from '../fixtures/graph-model';

const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

/** JS reference of h and h' for the elementwise cases. */
function jsAct(kind: Kind, v: number, i: number, p: ActParams & { alphaArr?: number[] }): [number, number] {
  switch (kind) {
    case 'Relu':
      return [Math.max(0, v), v > 0 ? 1 : 0];
    case 'Relu6':
      return [Math.min(6, Math.max(0, v)), v > 0 && v <= 6 ? 1 : 0];
    case 'LeakyRelu':
      return [v > 0 ? v : (p.alpha as number) * v, v > 0 ? 1 : (p.alpha as number)];
    case 'Elu':
      return [v > 0 ? v : Math.exp(v) - 1, v > 0 ? 1 : Math.exp(v)];
    case 'Selu':
      return v > 0
        ? [SELU_SCALE * v, SELU_SCALE]
        : [SELU_SCALE * SELU_ALPHA * (Math.exp(v) - 1), SELU_SCALE * SELU_ALPHA * Math.exp(v)];
    case 'Prelu': {
      const a = p.alphaArr![i]!;
      return [v > 0 ? v : a * v, v > 0 ? 1 : a];
    }
    case 'ClipByValue':
      return [Math.min(p.max!, Math.max(p.min!, v)), v >= p.min! && v <= p.max! ? 1 : 0];
  }
}

interface Case {
  kind: Kind;
  params: ActParams & { alphaArr?: number[] };
  x: number[];
  e: number[];
  /** Which elements the gate must keep (hand-derived, checked against the JS reference). */
  inside: boolean[];
}

const CASES: Case[] = [
  // hi = h(x), lo = 0: 3 > 2 and 0.5 > 0 are blocked; equal to the bound passes.
  { kind: 'Relu', params: {}, x: [2, 2, -1, -1, 0.5, 3], e: [1, 3, 0.5, -2, 0.5, -1], inside: [true, false, false, true, true, true] },
  { kind: 'Relu6', params: {}, x: [3, 3, 7, -1, 5, 5], e: [2, 5, 8, 1, 6.5, 4], inside: [true, false, true, false, false, true] },
  // Negative bounds: lo = alpha * x < 0.
  { kind: 'LeakyRelu', params: { alpha: 0.2 }, x: [-2, -2, -2, 1, 1], e: [-1, -3, 0.5, 0.5, 2], inside: [true, false, false, true, false] },
  { kind: 'Elu', params: {}, x: [-1, -1, 2, 2, -1], e: [-0.5, -2, 1, 3, 0.3], inside: [true, false, true, false, false] },
  { kind: 'Selu', params: {}, x: [-1, -1, 1, 1], e: [-0.5, -2, 0.5, 2], inside: [true, false, true, false] },
  {
    kind: 'ClipByValue',
    params: { min: -1, max: 2 },
    x: [-3, -3, 1, 1, 3, -0.5],
    e: [-0.5, 0.5, 0.5, 1.5, 1.5, -0.8],
    inside: [true, false, true, false, true, false],
  },
  {
    kind: 'Prelu',
    params: { alphaArr: [0.1, 0.3, 0.1, 0.3] },
    x: [-2, -2, 1, -1],
    e: [-1, -3, 0.5, 0.5],
    inside: [true, false, true, false],
  },
];

const WEIGHTS = [1.5, -2, 0.7, 3, -1.1, 0.9];

function caseFn(c: Case): (y: tf.Tensor) => tf.Scalar {
  const w = tf.tensor1d(WEIGHTS.slice(0, c.x.length));
  const alpha = c.params.alphaArr ? tf.tensor1d(c.params.alphaArr) : undefined;
  const p: ActParams = alpha ? { alpha } : c.params;
  return (y) => tf.sum(tf.mul(plainActivation(c.kind, y, p), w));
}

const abs0 = (v: number) => Math.abs(v);

describeEachBackend('gradient filter semantics', () => {
  for (const c of CASES) {
    it(`${c.kind}: gradient is zero exactly where h(e) leaves [min(0,h(x)), max(0,h(x))], unchanged elsewhere`, () => {
      const snap = snapshotRegistry();
      const f = caseFn(c); // allocates the weight constants
      const before = tf.memory().numTensors;
      const x = tf.tensor1d(c.x);
      const e = tf.tensor1d(c.e);
      // The hand-derived gate agrees with the JS reference of the definition.
      c.x.forEach((xv, i) => {
        const hx = jsAct(c.kind, xv, i, c.params)[0];
        const he = jsAct(c.kind, c.e[i]!, i, c.params)[0];
        expect(Math.min(0, hx) <= he + 1e-7 && he <= Math.max(0, hx) + 1e-7, `element ${i}`).toBe(c.inside[i]);
      });

      // Capture at x: the gradient is unchanged (the gate is all ones at e = x).
      const plainAtX = tf.grad(f)(x);
      const { result: gx, bounds } = captureBounds(() => tf.grad(f)(x), ORACLE);
      expect(Array.from(gx.dataSync())).toEqual(Array.from(plainAtX.dataSync()));
      expect(bounds.size).toBe(1);
      expect(bounds.entries[0]!.kernel).toBe(c.kind);
      expect(bounds.entries[0]!.shape).toEqual([c.x.length]);
      const lo = Array.from(bounds.entries[0]!.lo.dataSync());
      const hi = Array.from(bounds.entries[0]!.hi.dataSync());
      c.x.forEach((xv, i) => {
        const hx = jsAct(c.kind, xv, i, c.params)[0];
        expect(lo[i]).toBeCloseTo(Math.min(0, hx), 6);
        expect(hi[i]).toBeCloseTo(Math.max(0, hx), 6);
      });
      if (['LeakyRelu', 'Elu', 'Selu', 'ClipByValue', 'Prelu'].includes(c.kind)) {
        expect(Math.min(...lo)).toBeLessThan(0);
      }

      // Filter at e.
      const plainAtET = tf.grad(f)(e);
      const plainAtE = plainAtET.dataSync();
      const { result: ge, gated } = withGradientFilter(bounds, () => tf.grad(f)(e));
      expect(gated.gatedOutputs).toBe(1);
      expect(gated.elements).toBe(c.x.length);
      const got = ge.dataSync();
      c.e.forEach((ev, i) => {
        if (c.inside[i]) {
          expect(got[i], `element ${i} passes unchanged`).toBe(plainAtE[i]);
          expect(got[i]).toBeCloseTo(WEIGHTS[i]! * jsAct(c.kind, ev, i, c.params)[1], 5);
        } else {
          expect(abs0(got[i]!), `element ${i} is blocked`).toBe(0);
        }
      });
      // The case is meaningful: something blocked had a non-zero plain gradient.
      expect(c.inside.some((inside, i) => !inside && plainAtE[i] !== 0)).toBe(true);

      tf.dispose([x, e, gx, ge, plainAtX, plainAtET]);
      bounds.dispose();
      bounds.dispose(); // idempotent
      expect(tf.memory().numTensors).toBe(before);
      expectRegistryRestored(snap);
    });
  }

  it('the independent VJP of the test oracle agrees with tfjs gradients (sanity of the oracle)', () => {
    for (const c of CASES) {
      tf.tidy(() => {
        const e = tf.tensor1d(c.e);
        const alpha = c.params.alphaArr ? tf.tensor1d(c.params.alphaArr) : undefined;
        const p: ActParams = alpha ? { alpha } : c.params;
        const w = tf.tensor1d(WEIGHTS.slice(0, c.e.length));
        const expected = tf.grad((y: tf.Tensor) => tf.sum(tf.mul(plainActivation(c.kind, y, p), w)))(e);
        const vjp = activationVjp(c.kind, e, plainActivation(c.kind, e, p), w, p);
        expect(Array.from(vjp.dataSync()).map((v, i) => v - expected.dataSync()[i]!).every((d) => Math.abs(d) < 1e-6), c.kind).toBe(true);
      });
    }
  });

  it('measures the blocked fraction asynchronously when asked', async () => {
    const c = CASES[0]!;
    const x = tf.tensor1d(c.x);
    const e = tf.tensor1d(c.e);
    const f = caseFn(c);
    const before = tf.memory().numTensors;
    const { result: g0, bounds } = captureBounds(() => tf.grad(f)(x), ORACLE);
    const { result: g1, gated } = withGradientFilter(bounds, () => tf.grad(f)(e), { measureBlocked: true });
    expect(gated.blockedFraction).toBeInstanceOf(Promise);
    expect(await gated.blockedFraction).toBeCloseTo(2 / 6, 6);
    const { result: g2, gated: plain } = withGradientFilter(bounds, () => tf.grad(f)(e));
    expect(plain.blockedFraction).toBeUndefined();
    tf.dispose([g0, g1, g2]);
    bounds.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, e]);
  });

  it('GradientFilter captures on the first run, filters afterwards, and releases everything on dispose', () => {
    const c = CASES[2]!; // LeakyRelu
    const x = tf.tensor1d(c.x);
    const e = tf.tensor1d(c.e);
    const f = caseFn(c);
    const before = tf.memory().numTensors;
    const filter = new GradientFilter(ORACLE);
    expect(filter.bounds).toBeNull();
    expect(filter.gatedOutputs).toBe(0);
    const g0 = filter.run(() => tf.grad(f)(x));
    expect(filter.gatedOutputs).toBe(1);
    expect(filter.lastStats).toEqual({ gatedOutputs: 1, activations: 1, elements: 5 });
    const g1 = filter.run(() => tf.grad(f)(e));
    const got = g1.dataSync();
    c.inside.forEach((inside, i) => {
      if (!inside) expect(Math.abs(got[i]!)).toBe(0);
      else expect(got[i]).not.toBe(0);
    });
    tf.dispose([g0, g1]);
    filter.dispose();
    filter.dispose();
    expect(filter.bounds).toBeNull();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, e]);
  });

  it('gates with the bound of the right activation when one kernel occurs several times (order matching)', () => {
    // h1 = relu(y), h2 = relu(2 - h1): two Relu outputs of the same shape.
    const f = (y: tf.Tensor) => tf.sum(tf.relu(tf.sub(2, tf.relu(y))));
    const x = tf.tensor1d([1, 1, 3]);
    const e = tf.tensor1d([1.5, 0.5, 1]);
    // h1(x) = [1,1,3], h2(x) = [1,1,0]; h1(e) = [1.5,0.5,1]: element 0 leaves hi1 = 1;
    // h2(e) = [0.5,1.5,1]: element 1 leaves hi2 = 1, element 2 leaves hi2 = 0.
    const { result: g0, bounds } = captureBounds(() => tf.grad(f)(x), ORACLE);
    expect(bounds.entries.map((b) => b.kernel)).toEqual(['Relu', 'Relu']);
    // Backward order: the outer relu (h2) first.
    expect(Array.from(bounds.entries[0]!.hi.dataSync())).toEqual([1, 1, 0]);
    expect(Array.from(bounds.entries[1]!.hi.dataSync())).toEqual([1, 1, 3]);
    const { result: g1 } = withGradientFilter(bounds, () => tf.grad(f)(e));
    // Unfiltered: d/dy = -1 for all three (h2 > 0 where 2 - h1 > 0, h1 > 0). All three are blocked.
    tf.tidy(() => {
      expect(Array.from(tf.grad(f)(e).dataSync())).toEqual([-1, -1, -1]);
    });
    expect(Array.from(g1.dataSync()).map(Math.abs)).toEqual([0, 0, 0]);
    const e2 = tf.tensor1d([0.8, 1, 2]); // h1 = [0.8,1,2] <= [1,1,3]; h2 = [1.2,1,0]: element 0 leaves hi2 = 1
    const { result: g2 } = withGradientFilter(bounds, () => tf.grad(f)(e2));
    expect(Array.from(g2.dataSync()).map((v) => v + 0)).toEqual([0, -1, 0]);
    tf.dispose([x, e, e2, g0, g1, g2]);
    bounds.dispose();
  });
});

describeEachBackend('gradient filter contract', () => {
  const relu2 = (y: tf.Tensor) => tf.sum(tf.relu(tf.mul(tf.relu(y), 2)));

  it('restores the identical registry entries and leaks nothing after success', () => {
    const snap = snapshotRegistry();
    const x = tf.tensor1d([1, -2, 3]);
    const before = tf.memory().numTensors;
    const { result, bounds } = captureBounds(() => tf.grad(relu2)(x));
    expectRegistryRestored(snap);
    const { result: r2 } = withGradientFilter(bounds, () => tf.grad(relu2)(x));
    expectRegistryRestored(snap);
    tf.dispose([result, r2]);
    bounds.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('restores the registry and leaks nothing when the model throws mid-forward', () => {
    const snap = snapshotRegistry();
    const x = tf.tensor1d([1, -2, 3]);
    const before = tf.memory().numTensors;
    const boom = (y: tf.Tensor): tf.Scalar => {
      tf.relu(tf.relu(y));
      throw new Error('model failed mid-forward');
    };
    expect(() => captureBounds(() => tf.grad(boom)(x))).toThrow('model failed mid-forward');
    expectRegistryRestored(snap);
    expect(tf.memory().numTensors).toBe(before);

    const { result, bounds } = captureBounds(() => tf.grad(relu2)(x));
    result.dispose();
    const mid = tf.memory().numTensors;
    expect(() => withGradientFilter(bounds, () => tf.grad(boom)(x))).toThrow('model failed mid-forward');
    expectRegistryRestored(snap);
    expect(tf.memory().numTensors).toBe(mid);
    bounds.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('restores the registry and leaks nothing (kept bounds included) when a gradient throws in the backward pass', () => {
    const snap = snapshotRegistry();
    const x = tf.tensor1d([1, -2, 3]);
    const failing = tf.customGrad(((y: tf.Tensor) => ({
      value: tf.mul(y, 1),
      gradFunc: () => {
        throw new Error('backward failed');
      },
    })) as unknown as CustomGradient) as (y: tf.Tensor) => tf.Tensor;
    const passing = tf.customGrad(((y: tf.Tensor) => ({
      value: tf.mul(y, 1),
      gradFunc: (dy: tf.Tensor) => [tf.mul(dy, 1)],
    })) as unknown as CustomGradient) as (y: tf.Tensor) => tf.Tensor;
    // The hooked Relu gradient runs (and captures a bound) before the failing one.
    const bad = (y: tf.Tensor) => tf.sum(tf.relu(failing(y)));
    const good = (y: tf.Tensor) => tf.sum(tf.relu(passing(y)));
    const before = tf.memory().numTensors;
    expect(() => captureBounds(() => tf.grad(bad)(x))).toThrow('backward failed');
    expectRegistryRestored(snap);
    expect(tf.memory().numTensors).toBe(before);

    const { result, bounds } = captureBounds(() => tf.grad(good)(x));
    result.dispose();
    const mid = tf.memory().numTensors;
    expect(() => withGradientFilter(bounds, () => tf.grad(bad)(x), { measureBlocked: true })).toThrow('backward failed');
    expectRegistryRestored(snap);
    expect(tf.memory().numTensors).toBe(mid);
    bounds.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('rejects a Promise-returning f, restores the registry, and leaves no unhandled rejection', async () => {
    const snap = snapshotRegistry();
    const x = tf.tensor1d([1, -2, 3]);
    expect(() => captureBounds(async () => tf.grad(relu2)(x))).toThrow(FgvisArgumentError);
    expect(() =>
      captureBounds(async () => {
        throw new Error('rejected later');
      }),
    ).toThrow(/must be synchronous/);
    expectRegistryRestored(snap);
    const { result, bounds } = captureBounds(() => tf.grad(relu2)(x));
    expect(() => withGradientFilter(bounds, () => Promise.resolve(1))).toThrow(/must be synchronous/);
    expectRegistryRestored(snap);
    await new Promise((r) => setTimeout(r, 10)); // an unhandled rejection would fail the run
    tf.dispose([x, result]);
    bounds.dispose();
  });

  it('refuses nesting, disposed bounds, bad arguments and unknown kernels', () => {
    const snap = snapshotRegistry();
    const x = tf.tensor1d([1, -2, 3]);
    const { result, bounds } = captureBounds(() => tf.grad(relu2)(x));
    result.dispose();
    expect(() => withGradientFilter(bounds, () => captureBounds(() => 1))).toThrow(/inside withGradientFilter/);
    expectRegistryRestored(snap);
    expect(() => captureBounds(1 as unknown as () => number)).toThrow(FgvisArgumentError);
    expect(() => withGradientFilter({} as GateBounds, () => 1)).toThrow(/bounds must be GateBounds/);
    expect(() => captureBounds(() => 1, { gatedKernels: ['relu'] })).toThrow(/no registered gradient/);
    expect(() => new GradientFilter({ gatedKernels: 'Relu' as unknown as string[] })).toThrow(FgvisArgumentError);
    bounds.dispose();
    expect(() => withGradientFilter(bounds, () => 1)).toThrow(/disposed/);
    x.dispose();
  });

  it('refuses an f that runs more than one backward pass', () => {
    const x = tf.tensor1d([1, -2, 3]);
    const before = tf.memory().numTensors;
    expect(() =>
      captureBounds(() => {
        tf.dispose(tf.grad(relu2)(x));
        return tf.grad(relu2)(x);
      }),
    ).toThrow(/more than one backward pass/);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('hooks only the configured kernels; none seen means zero activations', () => {
    const x = tf.tensor1d([1, -2, 3]);
    const f = (y: tf.Tensor) => tf.sum(tf.leakyRelu(tf.relu(y), 0.1));
    const { result, bounds } = captureBounds(() => tf.grad(f)(x), { gatedKernels: ['LeakyRelu'] });
    expect(bounds.entries.map((b) => b.kernel)).toEqual(['LeakyRelu']);
    expect(bounds.kernels).toEqual(['LeakyRelu']);
    // Filtering defaults to the capture's list.
    const { result: r2, gated } = withGradientFilter(bounds, () => tf.grad(f)(x));
    expect(gated.gatedOutputs).toBe(1);
    const sig = (y: tf.Tensor) => tf.sum(tf.sigmoid(y));
    const { result: r3, bounds: none } = captureBounds(() => tf.grad(sig)(x));
    expect(none.size).toBe(0);
    const { result: r4, gated: g0 } = withGradientFilter(none, () => tf.grad(sig)(x));
    expect(g0.gatedOutputs).toBe(0);
    tf.dispose([x, result, r2, r3, r4]);
    bounds.dispose();
    none.dispose();
  });

  it('explains how to register gradients when none are registered', () => {
    expect(ACTIVATION_KERNELS).toEqual(['Relu', 'Relu6', 'LeakyRelu', 'Elu', 'Prelu', 'Selu', 'ClipByValue']);
    expect(DEFAULT_GATED_KERNELS).toEqual([...ACTIVATION_KERNELS, 'Conv2D', 'DepthwiseConv2dNative', 'Add', 'MaxPool']);
    const original = getGradient('Relu');
    const restore = swapGradients(new Map([['Relu', null]]));
    try {
      expect(() => assertGradientsRegistered('explain')).toThrow(FgvisModelError);
      expect(() => assertGradientsRegistered('explain')).toThrow(/Error in explain: .*import '@tensorflow\/tfjs'/);
      expect(() => captureBounds(() => 1)).toThrow(/no gradients are registered/);
    } finally {
      restore();
    }
    expect(getGradient('Relu')).toBe(original);
    expect(() => assertGradientsRegistered('explain')).not.toThrow();
  });
});
