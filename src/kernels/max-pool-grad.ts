/**
 * A `MaxPoolGrad` kernel in plain JavaScript, for the wasm backend, whose own
 * kernel is wrong.
 *
 * tfjs-backend-wasm 4.22's `MaxPoolGrad` gives the gradient of a pooling window
 * whose values are all negative to the window's first (top-left) position
 * instead of its maximum (its running maximum starts at 0 there, not at
 * -infinity; ties of non-negative values go to the last maximum): on a
 * 16x16x8 input of signed values, 31 of 2,048 gradient entries differ from the
 * cpu backend's. Models that max-pool signed values (after a
 * batch norm, a LeakyReLU, a linear layer; e.g. the mini-Xception `emotion`
 * model, the MNIST fixture) then get wrong input gradients on wasm. The cpu,
 * webgl and webgpu kernels are right (webgl and webgpu pick the last of tied
 * maxima, cpu the first; either is a valid subgradient).
 *
 * This kernel is the cpu kernel's definition: each output's gradient goes to
 * the first maximal input of its window in raster order (rows, then columns;
 * NaN is never maximal, and a window of only NaN and -infinity passes nothing). It reads and writes the backend's buffers directly
 * (on wasm, views of the heap), one pass over the pooled outputs with the
 * channels innermost (contiguous in NHWC).
 *
 * @packageDocumentation
 */
import { backend_util, type KernelBackend, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

/** The wasm backend's direct access to its heap. */
interface HeapBackend {
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

function hasHeap(b: KernelBackend): b is KernelBackend & HeapBackend {
  const h = b as Partial<HeapBackend>;
  return typeof h.typedArrayFromHeap === 'function' && typeof h.makeOutput === 'function';
}

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;

/**
 * `dx += dy` at the first maximum of every pooling window, into `dx` (zeroed by
 * the caller). Scratch arrays of one channel row; windows overlap when the
 * filter is larger than the stride, and then several outputs add into one
 * input: `acc` (a Float64Array) sums them before one rounding to float32, as
 * the cpu kernel does.
 */
function scatterMaxima(
  info: backend_util.Conv2DInfo,
  x: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
): void {
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { filterHeight, filterWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const overlap = filterHeight > strideHeight || filterWidth > strideWidth;
  const acc: Float32Array | Float64Array = overlap ? new Float64Array(dx.length) : dx;
  const best = new Float32Array(C);
  const at = new Int32Array(C);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = Math.max(0, oh * strideHeight - top);
      const h1 = Math.min(inHeight, oh * strideHeight - top + filterHeight);
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = Math.max(0, ow * strideWidth - left);
        const w1 = Math.min(inWidth, ow * strideWidth - left + filterWidth);
        best.fill(-Infinity);
        at.fill(-1);
        // Raster order over the window with a strict '>': the first maximum wins.
        for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            const base = ((b * inHeight + ih) * inWidth + iw) * C;
            for (let c = 0; c < C; c++) {
              const v = x[base + c]!;
              if (v > best[c]!) {
                best[c] = v;
                at[c] = base + c;
              }
            }
          }
        }
        const o = ((b * outHeight + oh) * outWidth + ow) * C;
        for (let c = 0; c < C; c++) {
          const i = at[c]!;
          if (i >= 0) acc[i] += dy[o + c]!;
        }
      }
    }
  }
  if (overlap) dx.set(acc);
}

/**
 * A `MaxPoolGrad` kernel config: inputs `dy`, `input` (and `output`, unused),
 * attributes `filterSize`, `strides`, `pad`, `dimRoundingMode` as the stock
 * kernels. float32 only: other dtypes go to `fallback` (the backend's stock
 * kernel) when given, and throw otherwise. On a backend with heap access
 * (wasm) it works on views of the heap, elsewhere through `readSync` and
 * `write`.
 */
export function maxPoolGradKernel(fallback?: KernelFunc): Omit<KernelConfig, 'kernelName' | 'backendName'> {
  const kernelFunc: KernelFunc = (args) => {
    const { inputs, attrs } = args;
    const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
    if (input.dtype !== 'float32' || dy.dtype !== 'float32') {
      if (fallback != null) return fallback(args);
      throw new Error(`fgvis kernels: MaxPoolGrad supports float32 only, got input ${input.dtype} and dy ${dy.dtype}`);
    }
    const a = attrs ?? {};
    const info = backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      a['filterSize'] as [number, number] | number,
      a['strides'] as [number, number] | number,
      1,
      a['pad'] as Pad,
      a['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
    );
    if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== info.outShape[i])) {
      throw new Error(`fgvis kernels: MaxPoolGrad got dy of shape [${dy.shape.join(',')}], expected [${info.outShape.join(',')}]`);
    }
    const backend = args.backend as KernelBackend;
    const shape = input.shape.slice();
    if (hasHeap(backend)) {
      // Allocate first: growing the heap detaches views taken earlier.
      const out = backend.makeOutput(shape, 'float32');
      const dx = backend.typedArrayFromHeap(out) as Float32Array;
      dx.fill(0);
      scatterMaxima(info, backend.typedArrayFromHeap(input) as Float32Array, backend.typedArrayFromHeap(dy) as Float32Array, dx);
      return out;
    }
    const dx = new Float32Array(input.shape.reduce((p, d) => p * d, 1));
    scatterMaxima(info, backend.readSync(input.dataId) as Float32Array, backend.readSync(dy.dataId) as Float32Array, dx);
    return { dataId: backend.write(dx, shape, 'float32'), shape, dtype: 'float32' };
  };
  return { kernelFunc };
}
