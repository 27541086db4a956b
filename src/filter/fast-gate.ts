/**
 * The gate of the gradient filter as one pass over the data, on backends
 * whose buffers JavaScript can read synchronously (cpu, wasm).
 *
 * Written with tfjs ops, gating the gradient of one activation takes five
 * kernels (`GreaterEqual`, `LessEqual`, `LogicalAnd`, `ZerosLike`, `Select`),
 * and the stock `Relu6` gradient four more (`LessEqual`, `Step`, `Cast`,
 * `Mul`), each a full pass over an activation-sized tensor; on wasm those
 * elementwise kernels took about as long as all the convolutions of the
 * backward pass. Here the gate (and, for `Relu` / `Relu6`, the activation's own
 * gradient) is one loop that reads `dy`, the activation's input `x`, its
 * output `h` on the explanation and the bounds, and writes `dx`.
 *
 * Other backends (webgl, webgpu: no synchronous access) return `null` and the
 * caller falls back to tfjs ops.
 *
 * The values equal the op-by-op formulation's except for the sign of zero
 * (a blocked element is `dy * 0`, which is `-0` for a negative `dy`, where
 * `where(inside, dy, 0)` gives `+0`) and for a non-finite `dy` at a blocked
 * element (NaN here, 0 there).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, Tensor, TensorInfo } from '@tensorflow/tfjs-core';

/** The activations whose gradient the fused pass computes itself. */
export type FusedActivation = 'Relu' | 'Relu6' | 'ClipByValue';

interface WasmLike {
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}
interface CpuLike {
  readSync(dataId: object): unknown;
  makeTensorInfo(shape: number[], dtype: 'float32', values?: Float32Array): TensorInfo;
}

type Access =
  | { kind: 'wasm'; backend: KernelBackend & WasmLike }
  | { kind: 'cpu'; backend: KernelBackend & CpuLike };

/** How to reach the active backend's buffers synchronously, or `null`. */
function access(): Access | null {
  const name = tf.getBackend();
  const backend = tf.backend() as KernelBackend & Partial<WasmLike & CpuLike>;
  if (name === 'wasm' && typeof backend.typedArrayFromHeap === 'function' && typeof backend.makeOutput === 'function') {
    return { kind: 'wasm', backend: backend as KernelBackend & WasmLike };
  }
  if (name === 'cpu' && typeof backend.readSync === 'function' && typeof backend.makeTensorInfo === 'function') {
    return { kind: 'cpu', backend: backend as KernelBackend & CpuLike };
  }
  return null;
}

/** Whether {@link fusedGate} can run on the active backend. */
export function fusedGateAvailable(): boolean {
  return access() !== null;
}

/**
 * `dx` for one activation in one pass:
 * `gated = (lo <= h && h <= hi) ? dy : 0` (`lo` null means the output is known
 * to be non-negative and `lo = 0`, so that test is always true), then, with
 * `activation` given, `dx = gated * f'(x)` with tfjs's gradient of `Relu`
 * (`x > 0`) or `Relu6` (`0 < x <= 6`), NaN in `x` giving NaN, or of
 * `ClipByValue` (`clip.min <= x <= clip.max`, NaN giving 0); without it,
 * `dx = gated`. Every tensor must be float32 with the same shape. Returns a new
 * tensor (tracked by the engine in the current scope), or `null` when the
 * active backend has no synchronous access or a dtype or shape does not fit.
 */
export function fusedGate(
  dy: Tensor,
  h: Tensor,
  lo: Tensor | null,
  hi: Tensor,
  activation: FusedActivation | null,
  x: Tensor | null,
  clip: { min: number; max: number } = { min: 0, max: 6 },
): Tensor | null {
  const a = access();
  if (a === null) return null;
  const all = [dy, h, hi, ...(lo ? [lo] : []), ...(x ? [x] : [])];
  const size = h.size;
  if (all.some((t) => t.dtype !== 'float32' || t.size !== size)) return null;
  if (activation !== null && x === null) return null;
  const shape = dy.shape.slice();
  let out: TensorInfo;
  let read: (t: Tensor) => Float32Array;
  let write: Float32Array;
  if (a.kind === 'wasm') {
    out = a.backend.makeOutput(shape, 'float32'); // allocate first: growing the heap detaches earlier views
    read = (t) => a.backend.typedArrayFromHeap(t as unknown as TensorInfo) as Float32Array;
    write = read({ dataId: out.dataId, shape, dtype: 'float32' } as unknown as Tensor);
  } else {
    read = (t) => a.backend.readSync(t.dataId) as Float32Array;
    write = new Float32Array(size);
    out = { dataId: {}, shape, dtype: 'float32' }; // replaced below
  }
  const vdy = read(dy);
  const vh = read(h);
  const vhi = read(hi);
  const vlo = lo ? read(lo) : null;
  const vx = x ? read(x) : null;
  // Branch-free loops: the gate is data dependent and unpredictable, and a
  // branch per element cost ~4x more. `m` is 0 or 1; the division by
  // `+(x === x)` (1, or 0 for NaN) makes a NaN input give NaN as tfjs's `step` does.
  if (activation === 'Relu6') {
    for (let i = 0; i < size; i++) {
      const hv = vh[i]!;
      const xv = vx![i]!;
      const m = (vlo === null ? 1 : +(hv >= vlo[i]!)) & +(hv <= vhi[i]!) & +(xv > 0) & +(xv <= 6);
      write[i] = (vdy[i]! * m) / +(xv === xv);
    }
  } else if (activation === 'Relu') {
    for (let i = 0; i < size; i++) {
      const hv = vh[i]!;
      const xv = vx![i]!;
      const m = (vlo === null ? 1 : +(hv >= vlo[i]!)) & +(hv <= vhi[i]!) & +(xv > 0);
      write[i] = (vdy[i]! * m) / +(xv === xv);
    }
  } else if (activation === 'ClipByValue') {
    // tfjs: where(min <= x <= max, dy, 0); NaN x gives 0.
    const { min, max } = clip;
    for (let i = 0; i < size; i++) {
      const hv = vh[i]!;
      const xv = vx![i]!;
      const m = (vlo === null ? 1 : +(hv >= vlo[i]!)) & +(hv <= vhi[i]!) & +(xv >= min) & +(xv <= max);
      write[i] = vdy[i]! * m;
    }
  } else if (vlo === null) {
    for (let i = 0; i < size; i++) write[i] = vdy[i]! * +(vh[i]! <= vhi[i]!);
  } else {
    for (let i = 0; i < size; i++) {
      const hv = vh[i]!;
      write[i] = vdy[i]! * (+(hv >= vlo[i]!) & +(hv <= vhi[i]!));
    }
  }
  if (a.kind === 'cpu') out = a.backend.makeTensorInfo(shape, 'float32', write);
  return tf.engine().makeTensorFromTensorInfo(out, a.backend);
}
