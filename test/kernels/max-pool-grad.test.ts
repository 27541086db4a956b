// The JavaScript MaxPoolGrad kernel (the wasm backend's stock kernel is wrong
// for windows of negative values): equal to the cpu reference kernel on signed
// data with all-negative windows and ties, for valid/same padding and several
// filter sizes and strides, on every backend; the identity <maxPool(x), dy> =
// <x, dx> (max pooling is positively homogeneous); tf.grad through maxPool on
// wasm equal to cpu with the patches, and wrong without them; fgvis's own
// gradients (gradientSaliency, one explain() step) through a max pool of
// all-negative windows equal on cpu and wasm and equal to the analytic
// gradient, with the registry and the tensor count restored afterwards.
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, type NamedAttrMap } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { explain } from '../../src';
import { gradientSaliency } from '../../src/baselines';
import { maxPoolGradKernel, withInputGradientKernels } from '../../src/kernels';
import { swapKernels, withSwaps } from '../../src/util/kernel-registry';
import { describeEachBackend, useBackend } from '../backends';
import { backendDataCount, cpuKernel, dot, host, sizeOf, type HostArray } from './helpers';

type Pad = 'same' | 'valid' | number;
interface Case {
  shape: [number, number, number, number];
  filter: [number, number];
  stride: [number, number];
  pad: Pad;
  rounding?: 'floor' | 'round' | 'ceil';
}

const CASES: Case[] = [];
for (const shape of [
  [2, 8, 8, 3],
  [1, 7, 9, 5],
] as [number, number, number, number][])
  for (const pad of ['valid', 'same'] as const)
    for (const [f, s] of [
      [2, 2],
      [3, 2],
      [3, 1],
    ])
      CASES.push({ shape, filter: [f!, f!], stride: [s!, s!], pad });
CASES.push(
  { shape: [1, 9, 8, 2], filter: [2, 3], stride: [1, 2], pad: 'same' },
  { shape: [1, 8, 7, 2], filter: [3, 3], stride: [2, 2], pad: 1, rounding: 'ceil' },
  { shape: [1, 8, 7, 2], filter: [3, 3], stride: [2, 2], pad: 1, rounding: 'floor' },
);

const caseName = (c: Case) =>
  `${c.shape.join('x')} ${c.filter.join('x')} s${c.stride.join('x')} pad=${c.pad}${c.rounding ? ` ${c.rounding}` : ''}`;

/** Signed data, mostly negative: uniform(-1, 1) - 0.6 (many windows all negative). */
function signed(shape: number[], seed: number): HostArray {
  const a = host(shape, seed);
  return { values: a.values.map((v) => v - 0.6), shape };
}

/** Five levels (-2 .. 0 in steps of 0.5): many ties, of negative values and of zeros. */
function tied(shape: number[], seed: number): HostArray {
  const a = host(shape, seed);
  return { values: a.values.map((v) => Math.round(v * 2) / 2 - 1), shape };
}

function attrsOf(c: Case): NamedAttrMap {
  return { filterSize: c.filter, strides: c.stride, pad: c.pad, ...(c.rounding ? { dimRoundingMode: c.rounding } : {}) };
}

function infoOf(c: Case): backend_util.Conv2DInfo {
  return backend_util.computePool2DInfo(c.shape, c.filter, c.stride, 1, c.pad, c.rounding);
}

/** Windows (per output element) whose in-image values are all negative, and windows with a tied maximum. */
function windowStats(c: Case, x: Float32Array): { allNegative: number; tiedMax: number } {
  const info = infoOf(c);
  const [, H, W, C] = c.shape;
  let allNegative = 0;
  let tiedMax = 0;
  for (let b = 0; b < info.batchSize; b++)
    for (let oh = 0; oh < info.outHeight; oh++)
      for (let ow = 0; ow < info.outWidth; ow++)
        for (let ch = 0; ch < C; ch++) {
          const vals: number[] = [];
          for (let kh = 0; kh < info.filterHeight; kh++)
            for (let kw = 0; kw < info.filterWidth; kw++) {
              const ih = oh * info.strideHeight - info.padInfo.top + kh;
              const iw = ow * info.strideWidth - info.padInfo.left + kw;
              if (ih >= 0 && ih < H && iw >= 0 && iw < W) vals.push(x[((b * H + ih) * W + iw) * C + ch]!);
            }
          const m = Math.max(...vals);
          if (m < 0) allNegative++;
          if (vals.filter((v) => v === m).length > 1) tiedMax++;
        }
  return { allNegative, tiedMax };
}

describeEachBackend('MaxPoolGrad kernel', (backend) => {
  const patch = maxPoolGradKernel();
  const run = <T>(f: () => T): T => withSwaps([() => swapKernels(backend, new Map([['MaxPoolGrad', patch]]))], f);

  const variants = [
    ['signed', signed],
    ['tied', tied],
  ] as const;
  const table = CASES.flatMap((c, i) => variants.map(([v, make], j) => [`${v} ${caseName(c)}`, c, make, 100 + 10 * i + j] as const));

  it.each(table)('equals the cpu reference kernel, and <maxPool(x), dy> = <x, dx>: %s', (_n, c, make, seed) => {
    const x = make(c.shape, seed);
    const info = infoOf(c);
    const dy = host(info.outShape, seed + 1000);
    const y = cpuKernel('MaxPool', { x }, attrsOf(c));
    const ref = cpuKernel('MaxPoolGrad', { dy, input: x, output: y }, attrsOf(c));
    const stats = windowStats(c, x.values);
    expect(stats.allNegative).toBeGreaterThan(0); // the case exercises the wasm bug
    if (make === tied) expect(stats.tiedMax).toBeGreaterThan(0);
    const tensors = tf.memory().numTensors;
    const data = backendDataCount();
    const dx = run(() =>
      tf.tidy(() => {
        const t = tf.engine().runKernel(
          'MaxPoolGrad',
          { dy: tf.tensor(dy.values, dy.shape), input: tf.tensor(x.values, x.shape), output: tf.tensor(y.values, y.shape) },
          attrsOf(c),
        ) as tf.Tensor;
        expect(t.shape).toEqual(c.shape);
        expect(t.dtype).toBe('float32');
        return Float32Array.from(t.dataSync());
      }),
    );
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backendDataCount()).toBe(data);
    expect(Array.from(dx)).toEqual(Array.from(ref.values));
    // Max pooling is positively homogeneous: x . grad <y, dy> = <y, dy>.
    const lhs = dot(y.values, dy.values);
    expect(Math.abs(lhs.value - dot(x.values, dx).value)).toBeLessThanOrEqual(1e-5 * lhs.scale);
  });

  it('sends each window to its first maximum, also when every value is negative (hand-checked)', () => {
    const grad = (values: number[]) =>
      run(() =>
        tf.tidy(() =>
          Array.from(tf.grad((v: tf.Tensor) => tf.sum(tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid')))(tf.tensor4d(values, [1, 2, 2, 1])).dataSync()),
        ),
      );
    expect(grad([-3, -1, -2, -4])).toEqual([0, 1, 0, 0]);
    expect(grad([-3, -1, -2, -0.5])).toEqual([0, 0, 0, 1]);
    expect(grad([1, 1, 1, 1])).toEqual([1, 0, 0, 0]);
    expect(grad([-2, -1, -1, -3])).toEqual([0, 1, 0, 0]);
    expect(grad([NaN, -1, -5, -3])).toEqual([0, 1, 0, 0]);
  });

  it('gives other dtypes to the fallback kernel, or rejects them clearly', () => {
    const calls: string[] = [];
    const args = {
      inputs: { dy: { dataId: {}, shape: [1, 1, 1, 1], dtype: 'float32' }, input: { dataId: {}, shape: [1, 2, 2, 1], dtype: 'int32' } },
      backend: tf.backend(),
      attrs: { filterSize: 2, strides: 2, pad: 'valid' },
    } as unknown as Parameters<ReturnType<typeof maxPoolGradKernel>['kernelFunc']>[0];
    maxPoolGradKernel(() => {
      calls.push('fallback');
      return { dataId: {}, shape: [1], dtype: 'float32' };
    }).kernelFunc(args);
    expect(calls).toEqual(['fallback']);
    expect(() => maxPoolGradKernel().kernelFunc(args)).toThrow(/MaxPoolGrad supports float32 only/);
  });
});

describe('MaxPoolGrad through tf.grad on wasm', () => {
  it('the stock wasm kernel is wrong for all-negative windows; the patched gradient equals cpu', async () => {
    const c: Case = { shape: [1, 16, 16, 8], filter: [3, 3], stride: [2, 2], pad: 'same' };
    const x = signed(c.shape, 7);
    const weights = host(infoOf(c).outShape, 8);
    const grad = () =>
      tf.tidy(() => {
        const f = (v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, 3, 2, 'same'), tf.tensor(weights.values, weights.shape)));
        return Array.from(tf.grad(f)(tf.tensor(x.values, x.shape)).dataSync());
      });
    await useBackend('cpu');
    const ref = grad();
    expect(withInputGradientKernels(grad)).toEqual(ref); // no patch on cpu: its stock kernel
    await useBackend('wasm');
    const stock = grad();
    const wrong = stock.filter((v, i) => v !== ref[i]).length;
    // If this fails, tfjs-backend-wasm fixed its MaxPoolGrad: the patch may be dropped for that version.
    expect(wrong).toBeGreaterThan(0);
    expect(withInputGradientKernels(grad)).toEqual(ref);
    expect(withInputGradientKernels(grad, { correctMaxPoolGrad: false })).toEqual(stock);
    expect(sizeOf(c.shape)).toBe(ref.length);
  });
});

describe("fgvis's gradients through a max pool of all-negative windows", () => {
  // logits = flatten(maxPool(x - 2, 2, 2)) . W for x in [0, 1): every window is
  // negative, and d logit_t / d x is W[k, t] at the first maximum of window k,
  // 0 elsewhere.
  const shape = [1, 8, 8, 2] as [number, number, number, number];
  const pooled = [1, 4, 4, 2];
  const classes = 3;
  const target = 1;
  const x = { values: host(shape, 21).values.map((v) => (v + 1) / 2), shape };
  const w = host([sizeOf(pooled), classes], 22);
  const model = (v: tf.Tensor4D) =>
    tf.tidy(() => tf.matMul(tf.reshape(tf.maxPool(tf.sub(v, 2) as tf.Tensor4D, 2, 2, 'valid'), [v.shape[0], -1]), tf.tensor2d(w.values, w.shape as [number, number])));

  /** The analytic gradient of logit `target`, and where each window's maximum is. */
  function analytic(): { grad: number[]; maxima: Set<number> } {
    const grad = new Array<number>(sizeOf(shape)).fill(0);
    const maxima = new Set<number>();
    const [, H, W, C] = shape;
    for (let oh = 0; oh < H / 2; oh++)
      for (let ow = 0; ow < W / 2; ow++)
        for (let c = 0; c < C; c++) {
          let at = -1;
          for (let kh = 0; kh < 2; kh++)
            for (let kw = 0; kw < 2; kw++) {
              const i = ((2 * oh + kh) * W + 2 * ow + kw) * C + c;
              if (at < 0 || x.values[i]! > x.values[at]!) at = i;
            }
          expect(x.values[at]! - 2).toBeLessThan(0);
          grad[at] = w.values[((oh * (W / 2) + ow) * C + c) * classes + target]!;
          maxima.add(at);
        }
    return { grad, maxima };
  }

  /** Run `f` on `backend`; checks that the tensor count and the MaxPoolGrad registration are as before. */
  async function on<T>(backend: 'cpu' | 'wasm', f: (input: tf.Tensor4D) => Promise<T>): Promise<T> {
    await useBackend(backend);
    const kernel = tf.getKernel('MaxPoolGrad', backend);
    const input = tf.tensor4d(x.values, shape);
    const tensors = tf.memory().numTensors;
    const out = await f(input);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.getKernel('MaxPoolGrad', backend)).toBe(kernel);
    input.dispose();
    return out;
  }

  it('gradientSaliency: the same gradient on cpu and wasm, equal to the analytic one', async () => {
    const { grad } = analytic();
    const gradientOn = (backend: 'cpu' | 'wasm') =>
      on(backend, async (input) => {
        const r = await gradientSaliency(model, input, target, { scores: 'logits', score: 'logit' });
        const g = Array.from(await r.gradient.data());
        r.dispose();
        return g;
      });
    const cpu = await gradientOn('cpu');
    const wasm = await gradientOn('wasm');
    expect(cpu).toEqual(grad);
    expect(wasm).toEqual(grad);
  });

  it('explain: one step moves the same mask on cpu and wasm, only at the windows\' maxima', async () => {
    const { maxima } = analytic();
    // lambda 0, one plain gradient step on a sigmoid mask (no clipping at 1):
    // the mask moves exactly where the score's gradient is non-zero.
    const options = { steps: 1, lambda: 0, optimizer: 'sgd', parameterization: 'sigmoid', defense: false, earlyStop: false, scores: 'logits' } as const;
    const maskOn = (backend: 'cpu' | 'wasm') =>
      on(backend, async (input) => {
        const r = await explain(model, input, target, options);
        const m = Array.from(await r.mask.data());
        r.dispose();
        return m;
      });
    const cpu = await maskOn('cpu');
    const wasm = await maskOn('wasm');
    // Where the score's gradient is zero the mask keeps its start (sigmoid(6.9)).
    const rest = cpu.findIndex((_, i) => !maxima.has(i));
    const moved = (m: number[]) => new Set(m.flatMap((v, i) => (v !== m[rest] ? [i] : [])));
    expect(moved(cpu)).toEqual(maxima);
    expect(moved(wasm)).toEqual(maxima);
    wasm.forEach((v, i) => expect(v).toBeCloseTo(cpu[i]!, 6));
  });
});
