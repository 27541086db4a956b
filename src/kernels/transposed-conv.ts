/**
 * Input gradients of convolutions composed from a backend's forward kernels.
 *
 * The input gradient of a convolution is a transposed convolution: with the
 * upstream gradient `dy` dilated by the stride (stride - 1 zeros inserted
 * between neighbours) and padded by `effectiveFilterSize - 1 - padBefore`
 * before and whatever makes the output as large as the input after, it is a
 * stride-1 convolution with the spatially flipped filter, at the forward
 * dilation. For a regular convolution the filter's in and out channels swap;
 * for a depthwise convolution with channel multiplier `m`,
 * `dx[c] = sum over k < m of transposedConv(dy[c * m + k], filter[:, :, c, k])`:
 * a depthwise convolution with multiplier 1 over all `C * m` channels followed by
 * a sum over groups of `m` channels.
 *
 * The kernels below call the active backend's own `Reshape`, `PadV2`, `Slice`,
 * `Reverse`, `Transpose`, `Sum`, `Conv2D` and `DepthwiseConv2dNative` through
 * the kernel registry and release every intermediate on the backend.
 *
 * @packageDocumentation
 */
import {
  backend_util,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { FilterCache } from './filter-cache';
import { backendZeros, KernelScope } from './kernel-call';

type Conv2DInfo = backend_util.Conv2DInfo;
type Pads = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Dilate `dy` (NHWC) by the strides of `info` and pad or crop it so that a
 * stride-1 "valid" convolution with the flipped filter at the forward dilation
 * yields an output of the forward input's spatial size. Returns the (possibly
 * cropped) dilated tensor and the explicit padding still to apply, which the
 * convolution kernel applies itself; `null` when nothing of `dy` reaches the
 * input (degenerate explicit paddings), i.e. the gradient is zero.
 */
function dilateAndPad(scope: KernelScope, dy: TensorInfo, info: Conv2DInfo): { x: TensorInfo; pad: Pads } | null {
  const [n, outH, outW, ch] = dy.shape as [number, number, number, number];
  const { strideHeight: sh, strideWidth: sw, inHeight, inWidth } = info;
  let x = dy;
  let rows = outH;
  let cols = outW;
  if (sh > 1 || sw > 1) {
    // [n, h, 1, w, 1, c] padded after by (s - 1) on the unit axes, then merged:
    // each value is followed by s - 1 zeros, the last one too.
    const r = scope.reshape(dy, [n, outH, 1, outW, 1, ch]);
    const p = scope.run('PadV2', { x: r }, {
      paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]],
      constantValue: 0,
    });
    rows = outH * sh;
    cols = outW * sw;
    x = scope.reshape(p, [n, rows, cols, ch]);
  }
  // Row i of dx reads rows i .. i + effH - 1 of the padded tensor.
  let top = info.effectiveFilterHeight - 1 - info.padInfo.top;
  let left = info.effectiveFilterWidth - 1 - info.padInfo.left;
  let bottom = inHeight + info.effectiveFilterHeight - 1 - top - rows;
  let right = inWidth + info.effectiveFilterWidth - 1 - left - cols;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const cropTop = Math.max(0, -top);
    const cropLeft = Math.max(0, -left);
    const keepRows = rows - cropTop - Math.max(0, -bottom);
    const keepCols = cols - cropLeft - Math.max(0, -right);
    if (keepRows <= 0 || keepCols <= 0) return null;
    x = scope.run('Slice', { x }, { begin: [0, cropTop, cropLeft, 0], size: [n, keepRows, keepCols, ch] });
    top = Math.max(0, top);
    left = Math.max(0, left);
    bottom = Math.max(0, bottom);
    right = Math.max(0, right);
  }
  return { x, pad: [[0, 0], [top, bottom], [left, right], [0, 0]] };
}

function checkDy(kernel: string, dy: TensorInfo, info: Conv2DInfo): void {
  const expected = info.outShape;
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(
      `fgvis kernels: ${kernel} got dy of shape [${dy.shape.join(',')}], expected [${expected.join(',')}]`,
    );
  }
  if (dy.dtype !== 'float32') throw new Error(`fgvis kernels: ${kernel} supports float32 dy only, got ${dy.dtype}`);
}

/**
 * The derived filter made by `make` in `scope`: through `cache` when given (the
 * result is then borrowed from the cache, computed once per source filter),
 * otherwise a scope intermediate.
 */
function derivedFilter(
  scope: KernelScope,
  cache: FilterCache | undefined,
  filter: TensorInfo,
  variant: string,
  make: (s: KernelScope) => TensorInfo,
): TensorInfo {
  if (cache != null) {
    const hit = cache.get(scope.backendName, scope.backend, filter, variant, () => {
      const own = new KernelScope(scope.backendName, scope.backend);
      try {
        return own.keep(make(own));
      } finally {
        own.dispose();
      }
    });
    if (hit != null) return hit;
  }
  return make(scope);
}

function pair(v: unknown, fallback: [number, number]): [number, number] | number {
  if (v == null) return fallback;
  return v as [number, number] | number;
}

/**
 * A `DepthwiseConv2dNativeBackpropInput` kernel for `backendName`, composed of
 * that backend's forward kernels. Same inputs (`dy`, `filter`) and attributes
 * (`strides`, `pad` as 'same' | 'valid' | number | explicit, `dilations`,
 * `dimRoundingMode`, `inputShape`) as the reference kernel. Dilations > 1 are
 * supported and give the true adjoint of the dilated forward convolution (the
 * cpu backend's reference kernel ignores dilations; tfjs's gradient of
 * `depthwiseConv2d` never asks for them).
 */
export function depthwiseConv2dNativeBackpropInputComposite(
  backendName: string,
  cache?: FilterCache,
): Omit<KernelConfig, 'kernelName' | 'backendName'> {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = (attrs ?? {}) as NamedAttrMap;
    const inputShape = a['inputShape'] as [number, number, number, number];
    const info = backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      pair(a['strides'], [1, 1]),
      pair(a['dilations'], [1, 1]),
      a['pad'] as 'same' | 'valid' | number | backend_util.ExplicitPadding,
      a['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
      true,
    );
    checkDy('DepthwiseConv2dNativeBackpropInput', dy, info);
    const [fh, fw, c, mult] = filter.shape as [number, number, number, number];
    const scope = new KernelScope(backendName, backend as KernelBackend);
    try {
      const prepared = dilateAndPad(scope, dy, info);
      if (prepared == null) return backendZeros(backendName, backend as KernelBackend, info.inShape);
      const g = derivedFilter(scope, cache, filter, 'depthwise-flipped', (s) => {
        const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] });
        return mult > 1 ? s.reshape(flipped, [fh, fw, c * mult, 1]) : flipped;
      });
      let dx = scope.run('DepthwiseConv2dNative', { x: prepared.x, filter: g }, {
        strides: [1, 1],
        pad: prepared.pad,
        dilations: [info.dilationHeight, info.dilationWidth],
        dataFormat: 'NHWC',
      });
      if (mult > 1) {
        const grouped = scope.reshape(dx, [info.batchSize, info.inHeight, info.inWidth, c, mult]);
        dx = scope.run('Sum', { x: grouped }, { axis: [4], keepDims: false });
      }
      return scope.keep(dx);
    } finally {
      scope.dispose();
    }
  };
  return { kernelFunc };
}

/**
 * A `Conv2DBackpropInput` kernel for `backendName`, composed of that backend's
 * `Conv2D` (with the flipped, in/out-transposed filter) on the stride-dilated,
 * padded `dy`. NHWC only: for NCHW it calls `fallback` (the backend's stock
 * kernel) when given, and throws otherwise. A per-backend choice: measured ~3x
 * faster than the stock kernel on wasm, and known to break on webgl.
 */
export function conv2DBackpropInputComposite(
  backendName: string,
  fallback?: KernelFunc,
  cache?: FilterCache,
): Omit<KernelConfig, 'kernelName' | 'backendName'> {
  const kernelFunc: KernelFunc = (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = (attrs ?? {}) as NamedAttrMap;
    const dataFormat = (a['dataFormat'] as string | undefined) ?? 'NHWC';
    if (dataFormat !== 'NHWC') {
      if (fallback != null) return fallback(args);
      throw new Error(`fgvis kernels: composite Conv2DBackpropInput supports NHWC only, got ${dataFormat}`);
    }
    const info = backend_util.computeConv2DInfo(
      a['inputShape'] as [number, number, number, number],
      filter.shape as [number, number, number, number],
      pair(a['strides'], [1, 1]),
      1,
      a['pad'] as 'same' | 'valid' | number | backend_util.ExplicitPadding,
      a['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
      false,
    );
    checkDy('Conv2DBackpropInput', dy, info);
    const scope = new KernelScope(backendName, backend as KernelBackend);
    try {
      const prepared = dilateAndPad(scope, dy, info);
      if (prepared == null) return backendZeros(backendName, backend as KernelBackend, info.inShape);
      const g = derivedFilter(scope, cache, filter, 'conv-flipped-transposed', (s) =>
        s.run('Transpose', { x: s.run('Reverse', { x: filter }, { dims: [0, 1] }) }, { perm: [0, 1, 3, 2] }),
      );
      const dx = scope.run('Conv2D', { x: prepared.x, filter: g }, {
        strides: [1, 1],
        pad: prepared.pad,
        dilations: [1, 1],
        dataFormat: 'NHWC',
      });
      return scope.keep(dx);
    } finally {
      scope.dispose();
    }
  };
  return { kernelFunc };
}
