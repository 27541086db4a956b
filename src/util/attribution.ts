/**
 * The shape every attribution method in fgvis shares, so that `explain`, the
 * baselines and the metrics compose: `(model, input, target, options) =>
 * Promise<Attribution>`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExplainableModel } from '../model/adapter';

declare global {
  interface SymbolConstructor {
    /**
     * `Symbol.dispose` (explicit resource management, `using`), declared for
     * TypeScript libs older than `esnext.disposable`; at run time fgvis uses
     * the runtime's `Symbol.dispose`, or `Symbol.for('Symbol.dispose')` where
     * there is none.
     */
    readonly dispose: unique symbol;
  }
}

/**
 * The runtime's `Symbol.dispose`, or the registered `Symbol.for('Symbol.dispose')`
 * where it has none (Node 20 has it; older browsers may not). Read each time a
 * result is made, so a polyfill loaded after fgvis is still honoured.
 */
export function disposeSymbol(symbols: { dispose?: symbol } = Symbol): typeof Symbol.dispose {
  return (symbols.dispose ?? Symbol.for('Symbol.dispose')) as typeof Symbol.dispose;
}

/**
 * Give `result` a non-enumerable `[Symbol.dispose]()` that calls its current
 * `dispose()`, so `using r = await explain(...)` frees the tensors at the end
 * of the block (TypeScript 5.2+, or a runtime with explicit resource management).
 */
export function disposable<T extends { dispose(): void }>(result: T): T & Disposable {
  Object.defineProperty(result, disposeSymbol(), {
    value: () => result.dispose(),
    enumerable: false,
    configurable: true,
    writable: true,
  });
  return result as T & Disposable;
}

/** Something that owns tensors: `dispose()` frees them (idempotent), and so does leaving a `using` block. */
export interface Disposable {
  /** Free the tensors. Idempotent. */
  dispose(): void;
  /** Calls `dispose()`: what `using` calls at the end of the block. */
  [Symbol.dispose](): void;
}

/**
 * The result every method returns. Owns its tensors until `dispose()`. fgvis's
 * own methods return results that are also {@link Disposable} (`using` frees
 * them); a method of your own needs only `dispose()`.
 */
export interface Attribution {
  /** Per-pixel importance `[H, W]`, values in [0, 1], higher = more important for the target. */
  saliency: tf.Tensor2D;
  /** The class explained (resolved from `'top'`). */
  target: number;
  /** Free the result's tensors. Idempotent. */
  dispose(): void;
  /** Calls `dispose()` (fgvis's results have it: `using r = await smoothGrad(...)`). */
  [Symbol.dispose]?(): void;
}

/** An {@link Attribution} that `using` can free: what fgvis's own methods return. */
export interface DisposableAttribution extends Attribution, Disposable {
  /** Calls `dispose()`: `using r = await smoothGrad(...)` frees the tensors at the end of the block. */
  [Symbol.dispose](): void;
}

/** An attribution method with fgvis's call shape. `explain` is one. */
export type AttributionMethod<O = object> = (
  model: ExplainableModel,
  input: tf.Tensor,
  target: number | 'top',
  options?: O,
) => Promise<Attribution>;

/** Build a result object owning `tensors`: `dispose()` (or `using`) frees them once. */
export function withDispose<T extends object>(fields: T, tensors: tf.Tensor[]): T & Disposable {
  let disposed = false;
  return disposable({
    ...fields,
    dispose() {
      if (disposed) return;
      disposed = true;
      tf.dispose(tensors);
    },
  });
}
