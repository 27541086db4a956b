/**
 * An `UnsortedSegmentSum` kernel in plain JavaScript, for backends that lack
 * one (wasm). It is the gradient of `gather`: without it, `tf.grad` through a
 * `gather` on the input path fails on wasm.
 *
 * @packageDocumentation
 */
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * `UnsortedSegmentSum(x, segmentIds, numSegments)`: `out[s, ...] = sum of
 * x[i, ...] over all i with segmentIds[i] == s`, where `segmentIds` indexes the
 * leading `segmentIds.rank` axes of `x`. Ids outside `[0, numSegments)` are
 * dropped, as in TensorFlow. Reads its inputs with `backend.readSync`, writes
 * the result with `backend.write`; O(size of x), no intermediates.
 */
export function unsortedSegmentSumKernel(): Omit<KernelConfig, 'kernelName' | 'backendName'> {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
    const numSegments = attrs?.['numSegments'];
    if (typeof numSegments !== 'number' || !Number.isInteger(numSegments) || numSegments < 0) {
      throw new Error(`fgvis kernels: UnsortedSegmentSum needs a non-negative integer numSegments, got ${String(numSegments)}`);
    }
    if (x.dtype !== 'float32' && x.dtype !== 'int32') {
      throw new Error(`fgvis kernels: UnsortedSegmentSum supports float32 and int32, got ${x.dtype}`);
    }
    const idsRank = segmentIds.shape.length;
    if (segmentIds.shape.some((d, i) => d !== x.shape[i])) {
      throw new Error(
        `fgvis kernels: UnsortedSegmentSum segmentIds shape [${segmentIds.shape.join(',')}] must prefix x shape [${x.shape.join(',')}]`,
      );
    }
    const b = backend as KernelBackend;
    const inner = x.shape.slice(idsRank).reduce((p, d) => p * d, 1);
    const outShape = [numSegments, ...x.shape.slice(idsRank)];
    const xv = b.readSync(x.dataId) as Float32Array | Int32Array;
    const ids = b.readSync(segmentIds.dataId) as Int32Array | Float32Array;
    const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
    for (let i = 0; i < ids.length; i++) {
      const s = ids[i];
      if (!(s >= 0 && s < numSegments)) continue;
      const src = i * inner;
      const dst = s * inner;
      for (let j = 0; j < inner; j++) out[dst + j] += xv[src + j];
    }
    return { dataId: b.write(out, outShape, x.dtype), shape: outShape, dtype: x.dtype };
  };
  return { kernelFunc };
}
