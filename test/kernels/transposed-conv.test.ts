// Adjoint and reference tests of the transposed-convolution composites, on
// every backend: <conv(x, f), dy> == <x, backpropInput(dy, f)>, and equality
// with the cpu backend's reference kernel.
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, type NamedAttrMap } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { swapKernels, withSwaps } from '../../src/util/kernel-registry';
import {
  conv2DBackpropInputComposite,
  depthwiseConv2dNativeBackpropInputComposite,
  type KernelPatch,
} from '../../src/kernels';
import { describeEachBackend } from '../backends';
import { backendDataCount, cpuKernel, dilateFilter, dot, host, relInf, type HostArray } from './helpers';

type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;
interface Case {
  name: string;
  hw: [number, number];
  k: number;
  mult: number;
  stride: number;
  dilation: number;
  pad: Pad;
  rounding?: 'floor' | 'round' | 'ceil';
}

function grid(opts: { mults: number[]; dilations: number[] }): Case[] {
  const pads: Pad[] = [
    'same',
    'valid',
    [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  ];
  const out: Case[] = [];
  for (const stride of [1, 2])
    for (const pad of pads)
      for (const k of [1, 3, 5])
        for (const mult of opts.mults)
          for (const hw of [
            [7, 7],
            [8, 6],
          ] as [number, number][])
            for (const dilation of opts.dilations) {
              // tfjs convolutions take either strides or dilations > 1, never both.
              if (stride > 1 && dilation > 1) continue;
              out.push({
                name: `s${stride} pad=${JSON.stringify(pad)} k${k} m${mult} ${hw.join('x')} d${dilation}`,
                hw,
                k,
                mult,
                stride,
                dilation,
                pad,
              });
            }
  // Paddings that need cropping of the dilated dy, and dimRoundingMode.
  const extra: Omit<Case, 'name'>[] = [
    { hw: [7, 8], k: 1, mult: 2, stride: 1, dilation: 1, pad: [[0, 0], [3, 0], [0, 4], [0, 0]] },
    { hw: [7, 8], k: 3, mult: 1, stride: 2, dilation: 1, pad: [[0, 0], [4, 3], [0, 5], [0, 0]] },
    { hw: [8, 7], k: 3, mult: 2, stride: 2, dilation: 1, pad: 1, rounding: 'ceil' },
    { hw: [8, 7], k: 3, mult: 1, stride: 2, dilation: 1, pad: 1, rounding: 'floor' },
    { hw: [9, 6], k: 2, mult: 1, stride: 2, dilation: 1, pad: 0, rounding: 'round' },
  ];
  for (const e of extra) {
    if (opts.dilations.length > 1 || e.dilation === 1)
      out.push({ ...e, name: `extra pad=${JSON.stringify(e.pad)} k${e.k} m${e.mult} s${e.stride} ${e.rounding ?? ''}` });
  }
  return out;
}

function outInfo(c: Case, xShape: [number, number, number, number], fShape: [number, number, number, number], depthwise: boolean) {
  return backend_util.computeConv2DInfo(xShape, fShape, c.stride, c.dilation, c.pad, c.rounding, depthwise);
}

/** Forward conv on the active backend, composite backprop on the active backend, host arrays out. */
function runCase(
  c: Case,
  kernels: { forward: string; backprop: string; patch: KernelPatch },
  x: HostArray,
  f: HostArray,
  dy: HostArray,
  attrs: NamedAttrMap,
): { y: Float32Array; dx: Float32Array } {
  const backendName = tf.getBackend();
  return withSwaps([() => swapKernels(backendName, new Map([[kernels.backprop, kernels.patch]]))], () => {
    const before = tf.memory().numTensors;
    const dataBefore = backendDataCount();
    const res = tf.tidy(() => {
      const xt = tf.tensor4d(x.values, x.shape as [number, number, number, number]);
      const ft = tf.tensor4d(f.values, f.shape as [number, number, number, number]);
      const dyt = tf.tensor4d(dy.values, dy.shape as [number, number, number, number]);
      const y = tf.engine().runKernel(kernels.forward, { x: xt, filter: ft }, {
        strides: c.stride,
        pad: c.pad,
        dilations: c.dilation,
        dimRoundingMode: c.rounding,
        dataFormat: 'NHWC',
      } as unknown as NamedAttrMap) as tf.Tensor;
      const dx = tf.engine().runKernel(kernels.backprop, { dy: dyt, filter: ft }, attrs) as tf.Tensor;
      expect(dx.shape).toEqual(x.shape);
      return { y: y.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(backendDataCount()).toBe(dataBefore);
    return res;
  });
}

function check(
  c: Case,
  kind: 'depthwise' | 'conv',
  patch: KernelPatch,
  seed: number,
): void {
  const depthwise = kind === 'depthwise';
  const C = 3;
  const xShape: [number, number, number, number] = [2, c.hw[0], c.hw[1], C];
  const fShape: [number, number, number, number] = depthwise ? [c.k, c.k, C, c.mult] : [c.k, c.k, C, 4];
  const info = outInfo(c, xShape, fShape, depthwise);
  if (info.outHeight <= 0 || info.outWidth <= 0) return; // no forward output for this geometry
  const x = host(xShape, seed);
  const f = host(fShape, seed + 1);
  const dy = host(info.outShape, seed + 2);
  const name = depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput';
  const attrs: NamedAttrMap = {
    strides: [c.stride, c.stride],
    pad: c.pad as NamedAttrMap[string],
    dilations: [c.dilation, c.dilation],
    inputShape: xShape,
    ...(c.rounding ? { dimRoundingMode: c.rounding } : {}),
    ...(depthwise ? {} : { dataFormat: 'NHWC' }),
  };
  // Reference first, before the composite is swapped in (on cpu it replaces the reference kernel).
  // The cpu reference ignores dilations: give it the explicitly dilated filter instead.
  const ref =
    c.dilation === 1
      ? cpuKernel(name, { dy, filter: f }, attrs)
      : cpuKernel(name, { dy, filter: dilateFilter(f, c.dilation) }, { ...attrs, dilations: [1, 1] });
  const { y, dx } = runCase(
    c,
    { forward: depthwise ? 'DepthwiseConv2dNative' : 'Conv2D', backprop: name, patch },
    x,
    f,
    dy,
    attrs,
  );
  // The wasm forward convolutions are wrong when dimRoundingMode adds an output
  // row or column (tfjs 4.22: they compute garbage there), so the adjoint
  // identity for those cases uses the cpu forward kernel.
  const yAdj =
    c.rounding != null && c.rounding !== 'floor'
      ? cpuKernel(depthwise ? 'DepthwiseConv2dNative' : 'Conv2D', { x, filter: f }, {
          strides: [c.stride, c.stride],
          pad: c.pad as NamedAttrMap[string],
          dilations: [c.dilation, c.dilation],
          dimRoundingMode: c.rounding,
          dataFormat: 'NHWC',
        }).values
      : y;
  const lhs = dot(yAdj, dy.values);
  const rhs = dot(x.values, dx);
  expect(Math.abs(lhs.value - rhs.value)).toBeLessThanOrEqual(1e-5 * lhs.scale + 1e-6);
  expect(relInf(dx, ref.values)).toBeLessThanOrEqual(1e-5);
}

describeEachBackend('DepthwiseConv2dNativeBackpropInput composite', (backend) => {
  const patch = depthwiseConv2dNativeBackpropInputComposite(backend);
  const cases = grid({ mults: [1, 2], dilations: [1, 2] });
  it.each(cases.map((c, i) => [c.name, c, i] as const))('adjoint and reference: %s', (_n, c, i) => {
    check(c, 'depthwise', patch, 1000 + 7 * i);
  });
});

describeEachBackend('Conv2DBackpropInput composite', (backend) => {
  const patch = conv2DBackpropInputComposite(backend);
  const cases = grid({ mults: [1], dilations: [1] });
  it.each(cases.map((c, i) => [c.name, c, i] as const))('adjoint and reference: %s', (_n, c, i) => {
    check(c, 'conv', patch, 5000 + 7 * i);
  });

  it('delegates NCHW to the fallback kernel, or rejects it clearly', () => {
    const calls: string[] = [];
    const withFallback = conv2DBackpropInputComposite(backend, () => {
      calls.push('fallback');
      return { dataId: {}, shape: [1], dtype: 'float32' };
    });
    const args = {
      inputs: {},
      backend: tf.backend(),
      attrs: { dataFormat: 'NCHW' },
    };
    withFallback.kernelFunc(args);
    expect(calls).toEqual(['fallback']);
    expect(() => conv2DBackpropInputComposite(backend).kernelFunc(args)).toThrow(/NHWC only/);
  });
});

describe('cpu reference kernel', () => {
  it('is not the adjoint for dilations > 1 (why the tests give it a dilated filter instead)', async () => {
    await tf.setBackend('cpu');
    const x = host([1, 7, 7, 2], 1);
    const f = host([3, 3, 2, 1], 2);
    const dy = host([1, 7, 7, 2], 3);
    const attrs = { strides: [1, 1], pad: 'same', dilations: [2, 2] };
    const y = cpuKernel('DepthwiseConv2dNative', { x, filter: f }, attrs);
    const dx = cpuKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { ...attrs, inputShape: x.shape });
    const lhs = dot(y.values, dy.values);
    const rhs = dot(x.values, dx.values);
    expect(Math.abs(lhs.value - rhs.value)).toBeGreaterThan(1e-2 * lhs.scale);
    const dx2 = cpuKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: dilateFilter(f, 2) }, { ...attrs, dilations: [1, 1], inputShape: x.shape });
    expect(Math.abs(lhs.value - dot(x.values, dx2.values).value)).toBeLessThan(1e-5 * lhs.scale);
  });
});
