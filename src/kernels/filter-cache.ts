/**
 * A cache of derived convolution filters (flipped, transposed, reshaped) kept
 * on the backend across optimisation steps.
 *
 * The composed input-gradient kernels convolve with a transformed copy of the
 * forward filter. Making that copy anew in every step costs the transform and,
 * on wasm, much more: XNNPACK caches its packed convolution operators per
 * filter buffer, so a new filter buffer in every call repacks the weights and
 * rebuilds the operator each time (measured: the stock-filter forward
 * convolutions of MobileNetV2 ~4x faster than the same convolutions with a
 * fresh filter). Model weights live across the hundreds of steps of one
 * explanation, so their derived filters are computed once and reused.
 *
 * An entry is keyed by the source filter's `dataId` (model weights keep theirs
 * for their lifetime; a `Variable.assign` gives a new one) and is valid only
 * while the source still exists on its backend: a hit checks that, and
 * {@link FilterCache.sweep} (run at the start of every
 * `withInputGradientKernels` call) releases entries whose source was disposed,
 * so the cache holds at most the derived filters of the live models that were
 * explained. {@link clearInputGradientCache} releases everything.
 *
 * @packageDocumentation
 */
import { engine, type KernelBackend, type TensorInfo } from '@tensorflow/tfjs-core';

interface Entry {
  readonly backendName: string;
  readonly backend: KernelBackend;
  readonly source: object;
  readonly info: TensorInfo;
}

/** Does `backend` still hold data for `dataId`? `undefined` when the backend cannot tell. */
function holds(backend: KernelBackend, dataId: object): boolean | undefined {
  const b = backend as unknown as { dataIdMap?: { has?: (d: object) => boolean }; data?: { has?: (d: object) => boolean } };
  const storage = b.dataIdMap ?? b.data;
  if (storage == null || typeof storage.has !== 'function') return undefined;
  return storage.has(dataId);
}

function registered(backendName: string, backend: KernelBackend): boolean {
  const registry = (engine() as unknown as { registry?: Record<string, KernelBackend> }).registry;
  return registry != null && registry[backendName] === backend;
}

/** Derived filters by source `dataId` and variant. Holds backend data: call {@link FilterCache.clear} to free it. */
export class FilterCache {
  private readonly entries = new Map<object, Map<string, Entry>>();
  /** Lookups served from the cache and lookups that made a filter (for benchmarks). */
  readonly stats = { hits: 0, misses: 0, uncached: 0 };

  /**
   * The derived filter `variant` of `source` on `backend`: cached, or made by
   * `make` (which returns a result the cache then owns). The returned tensor is
   * borrowed: the caller must not release it. Returns `null` when the backend
   * cannot tell whether the source still exists (the caller then makes the
   * filter itself, uncached).
   */
  get(backendName: string, backend: KernelBackend, source: TensorInfo, variant: string, make: () => TensorInfo): TensorInfo | null {
    const alive = holds(backend, source.dataId);
    if (alive !== true) {
      this.stats.uncached++;
      return null;
    }
    let byVariant = this.entries.get(source.dataId);
    const hit = byVariant?.get(variant);
    if (hit != null && hit.backend === backend && holds(backend, hit.info.dataId) === true) {
      this.stats.hits++;
      return hit.info;
    }
    this.stats.misses++;
    if (hit != null) {
      this.release(hit);
      byVariant!.delete(variant);
    }
    const info = make();
    if (byVariant == null) {
      byVariant = new Map();
      this.entries.set(source.dataId, byVariant);
    }
    byVariant.set(variant, { backendName, backend, source: source.dataId, info });
    return info;
  }

  /** Release the entries whose source filter no longer exists (disposed, or its backend removed). */
  sweep(): void {
    for (const [source, byVariant] of this.entries) {
      for (const [variant, e] of byVariant) {
        if (!registered(e.backendName, e.backend) || holds(e.backend, source) !== true) {
          this.release(e);
          byVariant.delete(variant);
        }
      }
      if (byVariant.size === 0) this.entries.delete(source);
    }
  }

  /** Release every entry. */
  clear(): void {
    for (const byVariant of this.entries.values()) for (const e of byVariant.values()) this.release(e);
    this.entries.clear();
  }

  /** Number of cached derived filters. */
  get size(): number {
    let n = 0;
    for (const byVariant of this.entries.values()) n += byVariant.size;
    return n;
  }

  private release(e: Entry): void {
    if (registered(e.backendName, e.backend) && holds(e.backend, e.info.dataId) === true) e.backend.disposeData(e.info.dataId);
  }
}

/** The cache used by `withInputGradientKernels`. */
export const INPUT_GRADIENT_FILTER_CACHE = new FilterCache();

/**
 * Release the derived filters that `withInputGradientKernels` keeps across
 * steps (they are also released automatically, at the next call, once their
 * model's weights are disposed). Safe to call at any time outside a step.
 */
export function clearInputGradientCache(): void {
  INPUT_GRADIENT_FILTER_CACHE.clear();
}
