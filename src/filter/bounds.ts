/**
 * The bounds of the gated outputs (activations and other layers' outputs),
 * captured on the image, used by the gradient filter.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';

/**
 * The bounds of one gated output h (an activation's or another layer's),
 * captured on the image x: `lo = min(0, h(x))`, `hi = max(0, h(x))`, elementwise.
 */
export interface GateBound {
  /** The kernel that produced the output, e.g. `'Relu'` or `'Conv2D'`. */
  readonly kernel: string;
  /** Shape of the output (and of `lo` and `hi`). */
  readonly shape: readonly number[];
  /**
   * Lower bound `min(0, h(x))`, same shape as the output. For activations
   * whose outputs are never negative (`Relu`, `Relu6`, `ClipByValue` with a
   * non-negative minimum) it is all zeros: it is then not stored, and reading
   * it makes a zeros tensor once (owned by the bounds). On cpu and wasm the
   * other outputs store `h(x)` alone ({@link SignedBound}); reading `lo` or
   * `hi` makes them once.
   */
  readonly lo: Tensor;
  /** Upper bound `max(0, h(x))`, same shape as the output. */
  readonly hi: Tensor;
  /** True when `lo` is known to be all zeros (the activation's output is never negative). */
  readonly loIsZero?: boolean;
}

/** @deprecated Renamed {@link GateBound}; this alias will be removed. */
export type ActivationBound = GateBound;

/**
 * A bound whose lower bound is all zeros: stores only `hi`; `lo` is made on
 * first read (tests, diagnostics), never in a filtering pass.
 */
export class NonNegativeBound implements GateBound {
  readonly loIsZero = true;
  private zeros: Tensor | null = null;

  /** Takes ownership of `hi`. */
  constructor(
    readonly kernel: string,
    readonly shape: readonly number[],
    readonly hi: Tensor,
  ) {}

  get lo(): Tensor {
    if (this.zeros === null) this.zeros = tf.keep(tf.zerosLike(this.hi));
    return this.zeros;
  }

  /** Release `hi` (and `lo`, if it was made). */
  dispose(): void {
    this.hi.dispose();
    this.zeros?.dispose();
    this.zeros = null;
  }
}

/**
 * A bound stored as the captured output itself, `value = h(x)`, with
 * `lo = min(0, value)` and `hi = max(0, value)` derived from it: one tensor
 * instead of two. Made where the gate runs in one pass (cpu, wasm), which
 * reads `value` directly; `lo` and `hi` are made on first read (the op-by-op
 * gate, tests, diagnostics) and then kept until {@link SignedBound.dispose}.
 */
export class SignedBound implements GateBound {
  private madeLo: Tensor | null = null;
  private madeHi: Tensor | null = null;
  /** Takes ownership of `value`. */
  constructor(
    readonly kernel: string,
    readonly shape: readonly number[],
    readonly value: Tensor,
  ) {}
  get lo(): Tensor {
    if (this.madeLo === null) this.madeLo = tf.keep(tf.minimum(this.value, 0));
    return this.madeLo;
  }
  get hi(): Tensor {
    if (this.madeHi === null) this.madeHi = tf.keep(tf.maximum(this.value, 0));
    return this.madeHi;
  }
  /** Release `value` (and `lo`, `hi`, if they were made). */
  dispose(): void {
    this.value.dispose();
    this.madeLo?.dispose();
    this.madeHi?.dispose();
    this.madeLo = null;
    this.madeHi = null;
  }
}

/**
 * An output the filter matches but does not gate (a linear layer's output
 * outside the hidden layers, see `LAYER_OUTPUT_KERNELS`). Holds no tensors;
 * reading `lo` or `hi` throws.
 */
export class PassThroughBound implements GateBound {
  readonly passThrough = true;

  constructor(
    readonly kernel: string,
    readonly shape: readonly number[],
  ) {}

  get lo(): Tensor {
    throw new Error(`the ${this.kernel} output [${this.shape.join(',')}] is not gated and has no bounds`);
  }

  get hi(): Tensor {
    return this.lo;
  }
}

/** Release the tensors of a bound. */
export function disposeBound(b: GateBound): void {
  if (b instanceof PassThroughBound) return;
  if (b instanceof NonNegativeBound || b instanceof SignedBound) b.dispose();
  else {
    b.lo.dispose();
    b.hi.dispose();
  }
}

/**
 * The bounds of every gated output the backward pass of a capture visited,
 * in the order the backward pass visited them (the reverse of the forward
 * order, for a chain). Owns its tensors: call {@link GateBounds.dispose}
 * when done.
 */
export class GateBounds {
  /** One entry per output, in backward-visit order. */
  readonly entries: readonly GateBound[];
  /** The kernel names that were hooked when these bounds were captured. */
  readonly kernels: readonly string[];
  /**
   * Whether the captured pass went through hidden outputs of smooth
   * nonlinearities (`Sigmoid`, `Tanh`, `Softplus`, `Erf`) that `kernels` does
   * not gate (see `SMOOTH_ACTIVATION_KERNELS`).
   */
  readonly ungatedNonlinearities: boolean;
  private isDisposed = false;

  /**
   * Wrap captured bounds; takes ownership of the `lo` and `hi` tensors.
   * Normally created by `captureBounds`, not by hand.
   *
   * @param entries Bounds in backward-visit order.
   * @param kernels The kernel names hooked during the capture.
   * @param info What the capture saw besides the bounds (default: no ungated nonlinearities).
   */
  constructor(entries: readonly GateBound[], kernels: readonly string[], info: { ungatedNonlinearities?: boolean } = {}) {
    this.entries = Object.freeze(entries.slice());
    this.kernels = Object.freeze(kernels.slice());
    this.ungatedNonlinearities = info.ungatedNonlinearities === true;
  }

  /** @deprecated Renamed {@link GateBounds.kernels}; this alias will be removed. */
  get activations(): readonly string[] {
    return this.kernels;
  }

  /** Number of outputs the backward pass visits and matches (gated or passed through). */
  get size(): number {
    return this.entries.length;
  }

  /** Number of outputs whose gradient is gated (passed-through outputs excluded). */
  get gatedOutputs(): number {
    return this.entries.filter((e) => !(e instanceof PassThroughBound)).length;
  }

  /** @deprecated Renamed {@link GateBounds.gatedOutputs}; this alias will be removed. */
  get gatedCount(): number {
    return this.gatedOutputs;
  }

  /** Total number of bounded neurons (elements) over the gated outputs. */
  get numElements(): number {
    let n = 0;
    for (const e of this.entries) if (!(e instanceof PassThroughBound)) n += e.shape.reduce((a, b) => a * b, 1);
    return n;
  }

  /** Whether {@link GateBounds.dispose} has been called. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Release the bound tensors. Idempotent. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    for (const e of this.entries) disposeBound(e);
  }
}

/** @deprecated Renamed {@link GateBounds}; this alias will be removed. */
export const ActivationBounds = GateBounds;
/** @deprecated Renamed {@link GateBounds}; this alias will be removed. */
export type ActivationBounds = GateBounds;
