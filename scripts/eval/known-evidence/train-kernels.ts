/**
 * Faster (cpu) and missing or wrong (wasm) kernels for *training* the known-evidence models (only
 * train.ts installs them; the library, the benchmark and the tests never do).
 *
 * tfjs-backend-cpu's `Conv2DBackpropFilter` and `MaxPoolGrad` are generic
 * element-by-element loops: on the 64x64 models a batch of 32 spent ~16 of
 * ~19 s in the filter gradient (0.9 s per batch with these; hand-written
 * `Conv2D` and `Conv2DBackpropInput` loops were no faster than the stock
 * ones, so those stay). These are plain typed-array loops for the
 * case the models use (NHWC, float32, dilation 1), with the innermost loop
 * over the contiguous output channels; anything else falls back to the stock
 * kernel. {@link checkTrainingKernels} compares them with the stock kernels
 * on random data before training starts.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The cpu backend's storage (host typed arrays). */
type CpuBackend = tf.KernelBackend & {
  data: { get(id: unknown): { values: tf.TypedArray } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.TypedArray): tf.TensorInfo;
};
/** The wasm backend's storage (views of the wasm heap). */
type WasmBackend = tf.KernelBackend & {
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
};
interface Args {
  inputs: Record<string, tf.TensorInfo>;
  backend: CpuBackend | WasmBackend;
  attrs: Record<string, unknown>;
}
type Fast = (args: Args) => tf.TensorInfo | null;

/** Stock kernels replaced, by `backend/kernel` (absent on wasm: there is no stock filter gradient). */
const stock = new Map<string, tf.KernelConfig | null>();

function isWasm(b: Args['backend']): b is WasmBackend {
  return typeof (b as WasmBackend).typedArrayFromHeap === 'function';
}

function values(b: Args['backend'], t: tf.TensorInfo): Float32Array {
  return (isWasm(b) ? b.typedArrayFromHeap(t) : b.data.get(t.dataId).values) as Float32Array;
}

/** A float32 output of `shape` holding `v`. */
function output(b: Args['backend'], shape: number[], v: Float32Array): tf.TensorInfo {
  if (!isWasm(b)) return b.makeTensorInfo(shape, 'float32', v);
  const out = b.makeOutput(shape, 'float32');
  (b.typedArrayFromHeap(out) as Float32Array).set(v);
  return out;
}

/** dW[kh,kw,ci,co] = sum over b, oh, ow of x[b, oh*s - pad + kh, ow*s - pad + kw, ci] * dy[b, oh, ow, co]. */
const conv2dBackpropFilter: Fast = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  if (a.dataFormat !== 'NHWC' || x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const xv = values(backend, x);
  const dyv = values(backend, dy);
  const [fh, fw, cin, cout] = a.filterShape;
  const dw = new Float32Array(fh * fw * cin * cout);
  const { batchSize, inHeight, inWidth, outHeight, outWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * cout;
        for (let kh = 0; kh < fh; kh++) {
          const ih = oh * strideHeight - top + kh;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < fw; kw++) {
            const iw = ow * strideWidth - left + kw;
            if (iw < 0 || iw >= inWidth) continue;
            const xBase = ((b * inHeight + ih) * inWidth + iw) * cin;
            const wBase0 = (kh * fw + kw) * cin * cout;
            for (let c = 0; c < cin; c++) {
              const xval = xv[xBase + c]!;
              if (xval === 0) continue;
              const wBase = wBase0 + c * cout;
              for (let o = 0; o < cout; o++) dw[wBase + o] += xval * dyv[dyBase + o]!;
            }
          }
        }
      }
    }
  }
  return output(backend, a.filterShape, dw);
};

/** dx of a max pool: each output's gradient goes to the first maximal input of its window (as the stock kernel). */
const maxPoolGrad: Fast = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const a = attrs as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  if (input.dtype !== 'float32') return null;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const xv = values(backend, input);
  const dyv = values(backend, dy);
  const dx = new Float32Array(xv.length);
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let at = -1;
          for (let kh = 0; kh < filterHeight; kh++) {
            const ih = oh * strideHeight - top + kh;
            if (ih < 0 || ih >= inHeight) continue;
            for (let kw = 0; kw < filterWidth; kw++) {
              const iw = ow * strideWidth - left + kw;
              if (iw < 0 || iw >= inWidth) continue;
              const i = ((b * inHeight + ih) * inWidth + iw) * C + c;
              if (xv[i]! > best) {
                best = xv[i]!;
                at = i;
              }
            }
          }
          if (at >= 0) dx[at] += dyv[((b * outHeight + oh) * outWidth + ow) * C + c]!;
        }
      }
    }
  }
  return output(backend, input.shape, dx);
};


// ---------------------------------------------------------------------------
// wasm: the convolution gradients as forward convolutions (XNNPACK)

/** Run wasm kernel `name`; the caller owns the result (free it with `free`). */
function call(backend: Args['backend'], name: string, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> = {}): tf.TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`training kernels: no wasm kernel ${name}`);
  return k.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
}

function free(backend: Args['backend'], ...infos: tf.TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

interface GradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * dW = correlation of x with dy, as one forward convolution: the input
 * channels become the batch (x -> [Ci, H, W, B]), dy becomes the filter
 * ([OH, OW, B, Co]) dilated by the stride, the output [Ci, KH, KW, Co] is
 * transposed to [KH, KW, Ci, Co].
 */
const wasmConv2dBackpropFilter: Fast = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as GradAttrs & { filterShape: [number, number, number, number] };
  if (a.dataFormat !== 'NHWC' || x.dtype !== 'float32') return null;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const [kh, kw] = a.filterShape;
  const { inHeight, inWidth, outHeight, outWidth, strideHeight: sh, strideWidth: sw } = info;
  const { top, bottom, left, right } = info.padInfo;
  // Rows of the padded input beyond the last one the forward pass read are not needed.
  const remH = inHeight + top + bottom - kh - sh * (outHeight - 1);
  const remW = inWidth + left + right - kw - sw * (outWidth - 1);
  const xt = call(backend, 'Transpose', { x }, { perm: [3, 1, 2, 0] });
  const dyt = call(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const pad = [[0, 0], [top, Math.max(0, bottom - remH)], [left, Math.max(0, right - remW)], [0, 0]];
  const conv = call(backend, 'Conv2D', { x: xt, filter: dyt }, { strides: 1, pad, dataFormat: 'NHWC', dilations: [sh, sw] });
  let cut = conv;
  if (conv.shape[1] !== kh || conv.shape[2] !== kw) {
    cut = call(backend, 'Slice', { x: conv }, { begin: [0, 0, 0, 0], size: [conv.shape[0]!, kh, kw, conv.shape[3]!] });
  }
  const out = call(backend, 'Transpose', { x: cut }, { perm: [1, 2, 0, 3] });
  free(backend, xt, dyt, conv);
  if (cut !== conv) free(backend, cut);
  return out;
};

/** Insert s - 1 zeros after every row and column of `t` [B, H, W, C] and cut to [B, s(H-1)+1, s(W-1)+1, C]. */
function dilate2d(backend: Args['backend'], t: tf.TensorInfo, sh: number, sw: number): tf.TensorInfo {
  const [b, h, w, c] = t.shape as [number, number, number, number];
  if (sh === 1 && sw === 1) return call(backend, 'Reshape', { x: t }, { shape: [b, h, w, c] });
  const r1 = call(backend, 'Reshape', { x: t }, { shape: [b * h, w, 1, c] });
  const p1 = call(backend, 'PadV2', { x: r1 }, { paddings: [[0, 0], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
  const r2 = call(backend, 'Reshape', { x: p1 }, { shape: [b, h, 1, w * sw * c] });
  const p2 = call(backend, 'PadV2', { x: r2 }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0]], constantValue: 0 });
  const r3 = call(backend, 'Reshape', { x: p2 }, { shape: [b, h * sh, w * sw, c] });
  const out = call(backend, 'Slice', { x: r3 }, { begin: [0, 0, 0, 0], size: [b, sh * (h - 1) + 1, sw * (w - 1) + 1, c] });
  free(backend, r1, p1, r2, p2, r3);
  return out;
}

/**
 * dx = the stride-dilated dy, padded, correlated with the spatially flipped
 * filter whose channel axes are swapped ([KH, KW, Co, Ci]): one forward
 * convolution.
 */
const wasmConv2dBackpropInput: Fast = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as GradAttrs & { inputShape: [number, number, number, number] };
  if (a.dataFormat !== 'NHWC' || dy.dtype !== 'float32') return null;
  const fs = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(a.inputShape, fs, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const [kh, kw] = fs;
  const { inHeight, inWidth, outHeight, outWidth, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const dh = sh * (outHeight - 1) + 1;
  const dw = sw * (outWidth - 1) + 1;
  const padT = kh - 1 - top;
  const padL = kw - 1 - left;
  const padB = inHeight - dh + top;
  const padR = inWidth - dw + left;
  if (padT < 0 || padL < 0 || padB < 0 || padR < 0) return null;
  const dyd = dilate2d(backend, dy, sh, sw);
  const flipped = call(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  const wt = call(backend, 'Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
  const out = call(backend, 'Conv2D', { x: dyd, filter: wt }, { strides: 1, pad: [[0, 0], [padT, padB], [padL, padR], [0, 0]], dataFormat: 'NHWC', dilations: 1 });
  free(backend, dyd, flipped, wt);
  return out;
};

/**
 * The kernels replaced per backend. wasm has no filter gradient at all, and
 * its MaxPoolGrad (tfjs-backend-wasm 4.22) sends the gradient of a pooling
 * window whose values are all negative to the window's first position instead
 * of its maximum (checked against the cpu kernel and a hand-written
 * reference), so it is replaced too (training runs outside fgvis's own
 * input-gradient patching).
 */
const FAST: Record<'cpu' | 'wasm', Record<string, Fast>> = {
  cpu: { Conv2DBackpropFilter: conv2dBackpropFilter, MaxPoolGrad: maxPoolGrad },
  wasm: { Conv2DBackpropFilter: wasmConv2dBackpropFilter, Conv2DBackpropInput: wasmConv2dBackpropInput, MaxPoolGrad: maxPoolGrad },
};

/**
 * Install the training kernels for `backendName` (falling back to the stock
 * kernel outside their case; on wasm, where there is none, throwing). Idempotent.
 */
export function installTrainingKernels(backendName: 'cpu' | 'wasm' = 'cpu'): void {
  for (const [name, fast] of Object.entries(FAST[backendName])) {
    const key = `${backendName}/${name}`;
    if (stock.has(key)) continue;
    const original = tf.getKernel(name, backendName) ?? null;
    if (!original && backendName === 'cpu') throw new Error(`installTrainingKernels: no cpu kernel ${name} (is @tensorflow/tfjs-backend-cpu loaded?)`);
    stock.set(key, original);
    if (original) tf.unregisterKernel(name, backendName);
    tf.registerKernel({
      kernelName: name,
      backendName,
      kernelFunc: ((args: Args) => {
        const out = fast(args);
        if (out) return out;
        if (!original) throw new Error(`training kernel ${name} on ${backendName}: unsupported case`);
        return original.kernelFunc(args as never);
      }) as unknown as tf.KernelFunc,
    });
  }
}

/** Put the stock kernels back (and remove the ones a backend did not have). */
export function uninstallTrainingKernels(): void {
  for (const [key, original] of stock) {
    const [backendName, name] = key.split('/') as [string, string];
    tf.unregisterKernel(name, backendName);
    if (original) tf.registerKernel(original);
  }
  stock.clear();
}

/**
 * Compare the training kernels of `backendName` with the stock cpu kernels on
 * random data (the shapes the models use: same padding, strides 1 and 2,
 * 3x3 and 5x5 filters, 2x2 pools). Throws on a difference above 1e-4
 * (relative). Leaves the active backend as it found it (or `backendName` if there was
 * none), kernels installed.
 */
export async function checkTrainingKernels(backendName: 'cpu' | 'wasm' = 'cpu'): Promise<void> {
  const active = tf.getBackend() as string | undefined; // undefined before any backend was initialised
  try {
    await check(backendName);
  } finally {
    await tf.setBackend(active ?? backendName);
  }
}

async function check(backendName: 'cpu' | 'wasm'): Promise<void> {
  const cases: Array<{ x: [number, number, number, number]; f: [number, number, number, number]; s: number }> = [
    { x: [2, 9, 9, 3], f: [3, 3, 3, 5], s: 1 },
    { x: [2, 10, 10, 4], f: [5, 5, 4, 6], s: 2 },
    { x: [2, 11, 11, 4], f: [3, 3, 4, 6], s: 2 },
    { x: [1, 16, 16, 3], f: [5, 5, 3, 4], s: 2 },
  ];
  // Runs `run` on the stock cpu kernels and on backendName's training kernels, with the same data.
  const compare = async (what: string, data: tf.Tensor[], run: (...t: tf.Tensor[]) => tf.Tensor) => {
    const host = await Promise.all(data.map(async (t) => ({ v: await t.data(), shape: t.shape })));
    uninstallTrainingKernels();
    await tf.setBackend('cpu');
    const ref = tf.tidy(() => run(...host.map((h) => tf.tensor(h.v, h.shape))));
    const refV = await ref.data();
    ref.dispose();
    installTrainingKernels(backendName);
    await tf.setBackend(backendName);
    const got = tf.tidy(() => run(...host.map((h) => tf.tensor(h.v, h.shape))));
    const gotV = await got.data();
    got.dispose();
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < refV.length; i++) {
      diff = Math.max(diff, Math.abs(refV[i]! - gotV[i]!));
      scale = Math.max(scale, Math.abs(refV[i]!));
    }
    if (!(diff <= 1e-4 * (1 + scale)) || refV.length !== gotV.length) {
      throw new Error(`checkTrainingKernels: ${what} on ${backendName} differs from the stock cpu kernel by ${diff}`);
    }
  };
  for (const c of cases) {
    await tf.setBackend('cpu');
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tf.Tensor4D;
    const f = tf.randomNormal(c.f, 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.conv2d(x, f, c.s, 'same');
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3) as tf.Tensor4D;
    const p = tf.maxPool(x, 2, 2, 'valid');
    const dp = tf.randomNormal(p.shape, 0, 1, 'float32', 4);
    await compare(`Conv2DBackpropFilter ${JSON.stringify(c)}`, [x, f, dy], (xx, ff, dd) =>
      tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, w as tf.Tensor4D, c.s, 'same'), dd!)))(ff!),
    );
    await compare(`Conv2DBackpropInput ${JSON.stringify(c)}`, [x, f, dy], (xx, ff, dd) =>
      tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(v as tf.Tensor4D, ff as tf.Tensor4D, c.s, 'same'), dd!)))(xx!),
    );
    await compare(`MaxPoolGrad ${JSON.stringify(c.x)}`, [x, dp], (xx, dd) =>
      tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid'), dd!)))(xx!),
    );
    await tf.setBackend('cpu');
    tf.dispose([x, f, y, dy, p, dp]);
  }
}
