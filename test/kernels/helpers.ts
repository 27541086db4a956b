// Shared helpers for the kernel tests: seeded data, the cpu backend's reference
// kernels called directly (whatever backend is active), comparisons.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, NamedAttrMap } from '@tensorflow/tfjs-core';
import { seededRandom } from '../../src/util/random';

/** Deterministic uniform(-1, 1) values (mulberry32). */
export function randomValues(size: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: size }, () => r() * 2 - 1);
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A host-side array with its shape. */
export interface HostArray {
  values: Float32Array;
  shape: number[];
}

export function host(shape: number[], seed: number): HostArray {
  return { values: randomValues(sizeOf(shape), seed), shape };
}

/** Run the cpu backend's registered kernel `name` directly on host arrays. */
export function cpuKernel(name: string, inputs: Record<string, HostArray>, attrs: NamedAttrMap): HostArray {
  const backend = tf.engine().findBackend('cpu') as KernelBackend | null;
  if (backend == null) throw new Error('cpu backend unavailable');
  const kernel = tf.getKernel(name, 'cpu');
  if (kernel == null) throw new Error(`no cpu kernel ${name}`);
  const infos: Record<string, tf.TensorInfo> = {};
  for (const [k, v] of Object.entries(inputs)) {
    infos[k] = { dataId: backend.write(v.values.slice(), v.shape, 'float32'), shape: v.shape, dtype: 'float32' };
  }
  const out = kernel.kernelFunc({ inputs: infos, backend, attrs }) as tf.TensorInfo;
  const values = Float32Array.from(backend.readSync(out.dataId) as Float32Array);
  backend.disposeData(out.dataId);
  for (const info of Object.values(infos)) backend.disposeData(info.dataId);
  return { values, shape: out.shape };
}

/** Insert (d - 1) zeros between the spatial taps of an [h, w, c, m] filter. */
export function dilateFilter(f: HostArray, d: number): HostArray {
  const [h, w, c, m] = f.shape as [number, number, number, number];
  const H = (h - 1) * d + 1;
  const W = (w - 1) * d + 1;
  const out = new Float32Array(H * W * c * m);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      for (let k = 0; k < c * m; k++) out[((i * d) * W + j * d) * c * m + k] = f.values[(i * w + j) * c * m + k]!;
  return { values: out, shape: [H, W, c, m] };
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): { value: number; scale: number } {
  let value = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    value += a[i]! * b[i]!;
    scale += Math.abs(a[i]! * b[i]!);
  }
  return { value, scale };
}

/** max |a - b| / max(1e-30, max |ref|). */
export function relInf(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - ref[i]!));
    m = Math.max(m, Math.abs(ref[i]!));
  }
  return d / Math.max(m, 1e-30);
}

/** Number of data buffers the active backend holds. */
export function backendDataCount(): number {
  return (tf.backend() as KernelBackend).numDataIds();
}
