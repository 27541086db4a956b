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
 * On the wasm backend that loop runs as WebAssembly SIMD inside the
 * backend's own memory (`wasm-gate.ts`, about ten times faster than the
 * JavaScript loop), with the JavaScript loop as the fallback: fewer than 4
 * elements, no WebAssembly SIMD, a memory that cannot be imported. Both give
 * the same values bit for bit, except which NaN bit pattern a NaN has.
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
import { clipRangeF32, wasmGateFor, type BoundArrays } from './wasm-gate';

export type { BoundArrays } from './wasm-gate';

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
 * `gated = (lo <= h && h <= hi) ? dy : 0` (for a `nonNegative` bound, the
 * output is known to be non-negative and `lo = 0`, so that test is always
 * true; for a `signed` bound, `lo = min(b, 0)` and `hi = max(b, 0)` of the
 * captured output `b`, NaN for a NaN `b`, as tfjs's `minimum` and `maximum`
 * give), then, with
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
  bound: BoundArrays<Tensor>,
  activation: FusedActivation | null,
  x: Tensor | null,
  clip: { min: number; max: number } = { min: 0, max: 6 },
): Tensor | null {
  const a = access();
  if (a === null) return null;
  const all = [dy, h, ...boundTensors(bound), ...(x ? [x] : [])];
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
  const vb: BoundArrays<Float32Array> =
    bound.kind === 'signed'
      ? { kind: 'signed', value: read(bound.value) }
      : bound.kind === 'interval'
        ? { kind: 'interval', lo: read(bound.lo), hi: read(bound.hi) }
        : { kind: 'nonNegative', hi: read(bound.hi) };
  const vx = x ? read(x) : null;
  if (a.kind !== 'wasm' || !simdGate(a.backend, activation, vdy, vh, vb, vx, write, clip)) {
    jsGate(activation, vdy, vh, vb, vx, write, clip);
  }
  if (a.kind === 'cpu') out = a.backend.makeTensorInfo(shape, 'float32', write);
  return tf.engine().makeTensorFromTensorInfo(out, a.backend);
}

/** The tensors of a bound. */
function boundTensors<T>(bound: BoundArrays<T>): T[] {
  return bound.kind === 'signed' ? [bound.value] : bound.kind === 'interval' ? [bound.lo, bound.hi] : [bound.hi];
}

/**
 * The gate as a JavaScript loop over float32 arrays of equal length (see
 * {@link fusedGate}): writes `write`. `vx` is needed with an `activation`.
 */
export function jsGate(
  activation: FusedActivation | null,
  vdy: Float32Array,
  vh: Float32Array,
  bound: BoundArrays<Float32Array>,
  vx: Float32Array | null,
  write: Float32Array,
  clip: { min: number; max: number } = { min: 0, max: 6 },
): void {
  if (bound.kind === 'signed') {
    signedJsGate(activation, vdy, vh, bound.value, vx, write, clip);
    return;
  }
  const vlo = bound.kind === 'interval' ? bound.lo : null;
  const vhi = bound.hi;
  const size = write.length;
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
}

/**
 * {@link jsGate} for a signed bound `b`: `min(b, 0) <= h <= max(b, 0)` (NaN
 * `b` blocks, as tfjs's NaN-propagating `minimum` and `maximum` make both
 * bounds NaN), written as `(b <= h <= 0) | (0 <= h <= b)`.
 */
function signedJsGate(
  activation: FusedActivation | null,
  vdy: Float32Array,
  vh: Float32Array,
  vb: Float32Array,
  vx: Float32Array | null,
  write: Float32Array,
  clip: { min: number; max: number },
): void {
  const size = write.length;
  if (activation === null) {
    for (let i = 0; i < size; i++) {
      const hv = vh[i]!;
      const bv = vb[i]!;
      write[i] = vdy[i]! * ((+(hv >= bv) & +(hv <= 0)) | (+(hv >= 0) & +(hv <= bv)));
    }
    return;
  }
  // (No built-in capture makes signed bounds for Relu or Relu6, nor, with a
  // non-negative minimum, for ClipByValue: one loop serves all three.)
  const act = activation === 'ClipByValue' ? 0 : activation === 'Relu' ? 1 : 2;
  const { min, max } = clip;
  for (let i = 0; i < size; i++) {
    const hv = vh[i]!;
    const bv = vb[i]!;
    const xv = vx![i]!;
    const g = (+(hv >= bv) & +(hv <= 0)) | (+(hv >= 0) & +(hv <= bv));
    if (act === 0) write[i] = vdy[i]! * (g & +(xv >= min) & +(xv <= max));
    else write[i] = (vdy[i]! * (g & +(xv > 0) & (act === 1 ? 1 : +(xv <= 6)))) / +(xv === xv);
  }
}

let simdEnabled = true;

/**
 * Whether the wasm backend's gate runs as WebAssembly SIMD (default `true`)
 * or as the JavaScript loop; returns the previous setting. For benchmarks
 * and tests, not part of the public API.
 */
export function setSimdGate(enabled: boolean): boolean {
  const previous = simdEnabled;
  simdEnabled = enabled;
  return previous;
}

/**
 * Whether {@link fusedGate} runs as WebAssembly SIMD on the active backend
 * (the wasm backend, with WebAssembly SIMD, and the switch on) for arrays of
 * at least 4 elements. For benchmarks and tests.
 */
export function simdGateAvailable(): boolean {
  const a = access();
  if (a === null || a.kind !== 'wasm' || !simdEnabled) return false;
  const memory = backendMemory(a.backend);
  return memory !== null && wasmGateFor(memory) !== null;
}

/** The `WebAssembly.Memory` of a wasm backend's Emscripten module, or `null`. */
function backendMemory(backend: object): WebAssembly.Memory | null {
  const module = (backend as { wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown } }).wasm;
  if (module == null || typeof WebAssembly === 'undefined') return null;
  // Single-threaded builds export their memory (`asm.memory`); the threaded
  // build creates a shared one and keeps it as `wasmMemory`.
  const memory = module.asm?.memory ?? module.wasmMemory;
  return memory instanceof WebAssembly.Memory ? memory : null;
}

/**
 * Run the gate as WebAssembly SIMD in the backend's memory, writing `write`;
 * `false` (nothing written) where it cannot: switched off, fewer than 4
 * elements, no SIMD, a memory that is not the arrays' heap.
 */
function simdGate(
  backend: object,
  activation: FusedActivation | null,
  vdy: Float32Array,
  vh: Float32Array,
  bound: BoundArrays<Float32Array>,
  vx: Float32Array | null,
  write: Float32Array,
  clip: { min: number; max: number } = { min: 0, max: 6 },
): boolean {
  if (!simdEnabled || write.length < 4) return false;
  const memory = backendMemory(backend);
  if (memory === null) return false;
  const gate = wasmGateFor(memory);
  if (gate === null) return false;
  // Every view must lie in this memory (the same buffer: no growth since they were made).
  const buffer = memory.buffer;
  const views = [vdy, vh, ...boundTensors(bound), write, ...(vx ? [vx] : [])];
  if (views.some((v) => v.buffer !== buffer || v.length !== write.length)) return false;
  const at = (v: Float32Array) => v.byteOffset;
  const pointers: BoundArrays<number> =
    bound.kind === 'signed'
      ? { kind: 'signed', value: at(bound.value) }
      : bound.kind === 'interval'
        ? { kind: 'interval', lo: at(bound.lo), hi: at(bound.hi) }
        : { kind: 'nonNegative', hi: at(bound.hi) };
  gate.run(
    activation ?? 'none',
    { dy: at(vdy), h: at(vh), bound: pointers, x: vx ? at(vx) : null, out: at(write), n: write.length },
    activation === 'ClipByValue' ? clipRangeF32(clip.min, clip.max) : undefined,
  );
  return true;
}
