/**
 * Per-activation bounds captured on the image, used by the gradient filter.
 *
 * @packageDocumentation
 */
import type { Tensor } from '@tensorflow/tfjs-core';

/**
 * The bounds of one activation output, captured on the image x:
 * `lo = min(0, h(x))`, `hi = max(0, h(x))`, elementwise.
 */
export interface ActivationBound {
  /** The activation kernel that produced the output, e.g. `'Relu'`. */
  readonly kernel: string;
  /** Shape of the activation output (and of `lo` and `hi`). */
  readonly shape: readonly number[];
  /** Lower bound `min(0, h(x))`, same shape as the activation. */
  readonly lo: Tensor;
  /** Upper bound `max(0, h(x))`, same shape as the activation. */
  readonly hi: Tensor;
}

/**
 * The bounds of every activation output the backward pass of a capture visited,
 * in the order the backward pass visited them (the reverse of the forward
 * order, for a chain). Owns its tensors: call {@link ActivationBounds.dispose}
 * when done.
 */
export class ActivationBounds {
  /** One entry per activation output, in backward-visit order. */
  readonly entries: readonly ActivationBound[];
  /** The activation kernel names that were hooked when these bounds were captured. */
  readonly activations: readonly string[];
  private isDisposed = false;

  /**
   * Wrap captured bounds; takes ownership of the `lo` and `hi` tensors.
   * Normally created by `captureBounds`, not by hand.
   *
   * @param entries Bounds in backward-visit order.
   * @param activations The kernel names hooked during the capture.
   */
  constructor(entries: readonly ActivationBound[], activations: readonly string[]) {
    this.entries = Object.freeze(entries.slice());
    this.activations = Object.freeze(activations.slice());
  }

  /** Number of activation outputs with bounds. */
  get size(): number {
    return this.entries.length;
  }

  /** Total number of bounded neurons (elements) over all activation outputs. */
  get numElements(): number {
    let n = 0;
    for (const e of this.entries) n += e.shape.reduce((a, b) => a * b, 1);
    return n;
  }

  /** Whether {@link ActivationBounds.dispose} has been called. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Release the bound tensors. Idempotent. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    for (const e of this.entries) {
      e.lo.dispose();
      e.hi.dispose();
    }
  }
}
