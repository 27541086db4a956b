// The flipped-filter cache of the composed input-gradient kernels and the
// buffer-sharing Identity: cached composites are still the adjoint of the
// forward convolution (and equal the cpu reference), a second call reuses the
// cached filter, entries are released when their source filter is disposed,
// and a whole model's input gradient is unchanged with persistent weights.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  conv2DBackpropInputComposite,
  depthwiseConv2dNativeBackpropInputComposite,
  FilterCache,
  INPUT_GRADIENT_FILTER_CACHE,
  clearInputGradientCache,
  withInputGradientKernels,
} from '../../src/kernels';
import { sharedIdentityKernel } from '../../src/kernels/shared-identity';
import { describeEachBackend, useBackend } from '../backends';
import { backendDataCount, cpuKernel, dot, host, relInf } from './helpers';

const cases = [
  { name: 'conv 3x3 s2 same', depthwise: false, x: [1, 9, 8, 3], f: [3, 3, 3, 5], stride: 2, pad: 'same', dilation: 1 },
  { name: 'conv 1x1 s1 valid', depthwise: false, x: [2, 6, 7, 4], f: [1, 1, 4, 6], stride: 1, pad: 'valid', dilation: 1 },
  { name: 'depthwise 3x3 s2 same m2', depthwise: true, x: [1, 9, 8, 3], f: [3, 3, 3, 2], stride: 2, pad: 'same', dilation: 1 },
  { name: 'depthwise 3x3 d2 same m1', depthwise: true, x: [1, 9, 9, 3], f: [3, 3, 3, 1], stride: 1, pad: 'same', dilation: 2 },
] as const;

describeEachBackend('cached composites', (backend) => {
  it.each(cases.map((c) => [c.name, c] as const))('adjoint and reference, first and cached call: %s', (_n, c) => {
    const cache = new FilterCache();
    const patch = c.depthwise
      ? depthwiseConv2dNativeBackpropInputComposite(backend, cache)
      : conv2DBackpropInputComposite(backend, undefined, cache);
    const xh = host([...c.x], 11);
    const fh = host([...c.f], 12);
    const ft = tf.tensor4d(fh.values, fh.shape as [number, number, number, number]);
    const xt = tf.tensor4d(xh.values, xh.shape as [number, number, number, number]);
    const conv = c.depthwise ? 'DepthwiseConv2dNative' : 'Conv2D';
    const y = tf.engine().runKernel(conv, { x: xt, filter: ft }, {
      strides: c.stride, pad: c.pad, dilations: c.dilation, dataFormat: 'NHWC',
    } as unknown as NamedAttrMap) as tf.Tensor;
    const dyh = host(y.shape, 13);
    const dyt = tf.tensor(dyh.values, y.shape);
    const attrs = { strides: [c.stride, c.stride], pad: c.pad, dilations: [c.dilation, c.dilation], inputShape: [...c.x], dataFormat: 'NHWC' } as unknown as NamedAttrMap;
    const be = tf.backend() as KernelBackend;
    const run = () => {
      const out = patch.kernelFunc({ inputs: { dy: dyt, filter: ft } as unknown as Record<string, TensorInfo>, backend: be, attrs }) as TensorInfo;
      const v = Float32Array.from(be.readSync(out.dataId) as Float32Array);
      be.disposeData(out.dataId);
      return v;
    };
    const first = run();
    expect(cache.size).toBe(1);
    const dataAfterFirst = backendDataCount();
    const second = run();
    expect(cache.stats.hits).toBe(1);
    expect(backendDataCount()).toBe(dataAfterFirst); // nothing leaks per call
    expect(Array.from(second)).toEqual(Array.from(first));
    // Adjoint: <conv(x, f), dy> == <x, backprop(dy, f)>.
    const lhs = dot(y.dataSync() as Float32Array, dyh.values);
    const rhs = dot(xh.values, second);
    expect(Math.abs(lhs.value - rhs.value)).toBeLessThanOrEqual(1e-5 * lhs.scale + 1e-6);
    if (c.dilation === 1) {
      const ref = cpuKernel(c.depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput', { dy: dyh, filter: fh }, attrs);
      expect(relInf(second, ref.values)).toBeLessThanOrEqual(1e-5);
    }
    // Disposing the source filter makes the entry stale; a sweep releases it.
    const before = backendDataCount();
    tf.dispose([ft, xt, y, dyt]);
    cache.sweep();
    expect(cache.size).toBe(0);
    expect(backendDataCount()).toBe(before - 4 - 1);
  });

  it('a changed filter (Variable.assign) is never served from the cache', () => {
    const cache = new FilterCache();
    const patch = conv2DBackpropInputComposite(backend, undefined, cache);
    const v = tf.variable(tf.tensor4d(host([1, 1, 2, 2], 3).values, [1, 1, 2, 2]));
    const dy = tf.ones([1, 2, 2, 2]);
    const be = tf.backend() as KernelBackend;
    const attrs = { strides: [1, 1], pad: 'valid', dilations: [1, 1], inputShape: [1, 2, 2, 2], dataFormat: 'NHWC' } as unknown as NamedAttrMap;
    const run = () => {
      const out = patch.kernelFunc({ inputs: { dy, filter: v } as unknown as Record<string, TensorInfo>, backend: be, attrs }) as TensorInfo;
      const r = Array.from(be.readSync(out.dataId) as Float32Array);
      be.disposeData(out.dataId);
      return r;
    };
    run();
    v.assign(tf.mul(v, 2) as tf.Tensor4D);
    const doubled = run();
    // Exact check against a fresh, uncached composite.
    const fresh = conv2DBackpropInputComposite(backend);
    const out = fresh.kernelFunc({ inputs: { dy, filter: v } as unknown as Record<string, TensorInfo>, backend: be, attrs }) as TensorInfo;
    expect(doubled).toEqual(Array.from(be.readSync(out.dataId) as Float32Array));
    be.disposeData(out.dataId);
    tf.dispose([v, dy]);
    cache.clear();
  });
});

describeEachBackend('shared Identity', () => {
  it('shares the buffer, counts a reference, and frees it with the last tensor', () => {
    const patch = sharedIdentityKernel(undefined);
    const be = tf.backend() as KernelBackend;
    const x = tf.tensor([1, 2, 3]);
    const data = backendDataCount();
    const out = patch.kernelFunc({ inputs: { x } as unknown as Record<string, TensorInfo>, backend: be, attrs: {} }) as TensorInfo;
    expect(out.dataId).toBe(x.dataId);
    expect(backendDataCount()).toBe(data);
    x.dispose();
    expect(Array.from(be.readSync(out.dataId) as Float32Array)).toEqual([1, 2, 3]);
    be.disposeData(out.dataId);
    expect(backendDataCount()).toBe(data - 1);
  });
});

describe('withInputGradientKernels on wasm with persistent weights', () => {
  it('serves the flipped filters from the cache from the second step on, same gradient', async () => {
    await useBackend('wasm');
    clearInputGradientCache();
    const w1 = tf.tensor4d(host([3, 3, 3, 4], 1).values, [3, 3, 3, 4]);
    const w2 = tf.tensor4d(host([3, 3, 4, 1], 2).values, [3, 3, 4, 1]);
    const w3 = tf.tensor4d(host([1, 1, 4, 5], 3).values, [1, 1, 4, 5]);
    const x = tf.tensor4d(host([1, 10, 10, 3], 4).values, [1, 10, 10, 3]);
    const f = (xi: tf.Tensor) => {
      let h = tf.fused.conv2d({ x: xi as tf.Tensor4D, filter: w1, strides: 2, pad: 'same', activation: 'relu6' });
      h = tf.fused.depthwiseConv2d({ x: h, filter: w2, strides: 1, pad: 'same', activation: 'relu' });
      h = tf.fused.conv2d({ x: h, filter: w3, strides: 1, pad: 'same' });
      return tf.sum(tf.square(h));
    };
    const grad = (o = {}) => withInputGradientKernels(() => tf.tidy(() => Array.from(tf.grad(f)(x).dataSync())), o);
    const { hits: h0 } = INPUT_GRADIENT_FILTER_CACHE.stats;
    const g1 = grad();
    const g2 = grad();
    expect(INPUT_GRADIENT_FILTER_CACHE.stats.hits - h0).toBeGreaterThanOrEqual(3);
    expect(g2).toEqual(g1);
    const copying = grad({ shareSavedTensors: false });
    expect(relInf(Float32Array.from(copying), Float32Array.from(g1))).toBeLessThanOrEqual(1e-6);
    tf.dispose([w1, w2, w3, x]);
    const data = backendDataCount();
    withInputGradientKernels(() => undefined); // sweeps the entries of the disposed weights
    expect(backendDataCount()).toBeLessThan(data);
    expect(INPUT_GRADIENT_FILTER_CACHE.size).toBe(0);
  });
});
