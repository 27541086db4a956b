/**
 * Calling a backend's own kernels directly from inside another kernel, with
 * explicit ownership of every intermediate result.
 *
 * A kernel function runs below the engine: it receives and returns
 * `TensorInfo`s, and every `TensorInfo` a kernel returns carries one
 * reference on the backend that the caller owns (a `Reshape` result shares its
 * input's data and adds a reference). Intermediates must therefore be released
 * with `backend.disposeData(dataId)`, never through `tf.dispose`.
 *
 * @packageDocumentation
 */
import {
  getKernel,
  type DataType,
  type KernelBackend,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/**
 * Run the kernel `name` registered for `backendName` on `backend` and return
 * its single output. The caller owns one reference to the result.
 *
 * @throws Error naming the kernel and the backend when the kernel is missing
 *   or returns several outputs.
 */
export function callKernel(
  backendName: string,
  backend: KernelBackend,
  name: string,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const config = getKernel(name, backendName);
  if (config == null) {
    throw new Error(`fgvis kernels: the kernel '${name}' is not registered for backend '${backendName}'`);
  }
  const out = config.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) {
    throw new Error(`fgvis kernels: the kernel '${name}' returned ${out.length} outputs, expected one`);
  }
  return out;
}

/**
 * A scope of intermediate kernel results: every result obtained through
 * {@link KernelScope.run} is released by {@link KernelScope.dispose}, except
 * the ones handed out with {@link KernelScope.keep}. Use it as
 * `try { ...; return scope.keep(result); } finally { scope.dispose(); }` so
 * that intermediates are released also when a kernel throws.
 */
export class KernelScope {
  private readonly owned: TensorInfo[] = [];

  /**
   * @param backendName the registry key of the backend whose kernels to call
   * @param backend the backend object passed to the calling kernel
   */
  constructor(
    readonly backendName: string,
    readonly backend: KernelBackend,
  ) {}

  /** Run a kernel of this backend; the result is released on {@link dispose}. */
  run(name: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const out = callKernel(this.backendName, this.backend, name, inputs, attrs);
    this.owned.push(out);
    return out;
  }

  /** `Reshape` through the backend's kernel (shares data, adds one reference). */
  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /** Take `info` out of the scope so that {@link dispose} does not release it; returns it. */
  keep(info: TensorInfo): TensorInfo {
    const i = this.owned.lastIndexOf(info);
    if (i >= 0) this.owned.splice(i, 1);
    return info;
  }

  /** Release one reference for every intermediate still owned by the scope. Idempotent. */
  dispose(): void {
    while (this.owned.length > 0) this.backend.disposeData(this.owned.pop()!.dataId);
  }
}

/**
 * A zero-filled tensor of `shape` allocated by the backend itself: through its
 * `Fill` kernel when it has one (the wasm backend writes into its own heap,
 * webgl fills a texture), otherwise through `backend.write` with a zeroed
 * typed array. The caller owns one reference.
 */
export function backendZeros(
  backendName: string,
  backend: KernelBackend,
  shape: readonly number[],
  dtype: DataType = 'float32',
): TensorInfo {
  const $shape = shape.slice();
  if (getKernel('Fill', backendName) != null) {
    return callKernel(backendName, backend, 'Fill', {}, { shape: $shape, value: 0, dtype });
  }
  const size = $shape.reduce((a, b) => a * b, 1);
  const values = dtype === 'int32' ? new Int32Array(size) : dtype === 'bool' ? new Uint8Array(size) : new Float32Array(size);
  return { dataId: backend.write(values, $shape, dtype), shape: $shape, dtype };
}
