/**
 * The gradient-filter hook: the paper's defense against adversarial evidence.
 *
 * For every gated output h (the output of a kernel in
 * {@link DEFAULT_GATED_KERNELS}: the activations and the other layers'
 * outputs), bounds `lo = min(0, h(x))` and `hi = max(0, h(x))` are captured on
 * the image x. In later backward passes the gradient arriving at that output is
 * multiplied by `[lo <= h(e) <= hi]`, where h(e) is the output on the
 * explanation. The forward pass is never changed.
 *
 * Mechanism: tfjs reads a kernel's gradient config from the global gradient
 * registry when the forward op is recorded on the tape, and saves the tensors
 * named by the config's `inputsToSave` / `outputsToSave` at that moment. For
 * the duration of one synchronous call, the configs of the gated kernels
 * are replaced by configs that also save the output and whose gradient gates
 * `dy` before calling the original gradient function. The registry is
 * restored in `finally`, also when the call throws. Gated outputs of a
 * later pass are matched to their bounds by the order in which the backward
 * pass visits them (deterministic for a fixed model and input shape), checked
 * against kernel name and shape.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { getGradient, type GradConfig, type NamedAttrMap, type Tensor } from '@tensorflow/tfjs-core';
import { FgvisArgumentError, FgvisModelError, describe } from '../util/errors';
import { swapGradients, withSwaps } from '../util/kernel-registry';
import { checkOptionNames } from '../util/validate';
import { engineState, withTapeCleanup } from '../util/tape';
import { assertGradientsRegistered } from '../util/gradients';

export { assertGradientsRegistered } from '../util/gradients';
import { ACTIVATION_KERNELS, DEFAULT_GATED_KERNELS, LAYER_OUTPUT_KERNELS, SMOOTH_ACTIVATION_KERNELS } from './gated-kernels';
import { GateBounds, disposeBound, NonNegativeBound, PassThroughBound, SignedBound, type GateBound } from './bounds';
import { fusedGate, fusedGateAvailable, type BoundArrays, type FusedActivation } from './fast-gate';
import { hiddenOutputs, redundantOutputs } from './redundant';

/** Options shared by {@link captureBounds}, {@link withGradientFilter} and {@link GradientFilter}. */
export interface GradientFilterOptions {
  /**
   * Names of the kernels whose outputs are gated (activations such as `'Relu'`,
   * and other layers such as `'Conv2D'`). Default for a capture:
   * {@link DEFAULT_GATED_KERNELS}; default for a filtering pass: the list
   * the bounds were captured with. Every name must have a registered gradient.
   * Kernels outside {@link ACTIVATION_KERNELS} and {@link LAYER_OUTPUT_KERNELS}
   * (smooth nonlinearities such as `'Sigmoid'`, `'Tanh'`, `'Softplus'`,
   * `'Erf'`, or `'Multiply'` for swish and gates) are gated only where the tape shows
   * them between two linear layers (see `hiddenOutputs` in `redundant.ts`).
   */
  gatedKernels?: readonly string[];
  /** @deprecated Renamed {@link GradientFilterOptions.gatedKernels}; still accepted (not together with it). */
  activations?: readonly string[];
  /**
   * Filtering passes only: also count the neurons whose gradient was zeroed and
   * report {@link FilterStats.blockedFraction} (read asynchronously; costs one
   * small reduction per gated output). Default `false`.
   */
  measureBlocked?: boolean;
  /**
   * Filtering passes on cpu and wasm: gate (and, for `Relu` / `Relu6`, compute
   * the activation's gradient; `ClipByValue` too) in one pass over the data instead of a chain of
   * tfjs ops (default `true`; the same values up to the sign of zero, see `fast-gate.ts`). The `Relu` / `Relu6`
   * shortcut assumes tfjs's own gradients for them (it is skipped when the
   * registered gradient saves other tensors than tfjs's does). On cpu and wasm
   * a capture stores a signed output's bounds as the output itself (one
   * tensor); a pass with `fused: false` (or `measureBlocked`) makes its `lo`
   * and `hi` once and keeps them with the bounds.
   */
  fused?: boolean;
}

/** What a filtering pass did. Contains no tensors. */
export interface FilterStats {
  /** Number of outputs whose gradient was gated. */
  readonly gatedOutputs: number;
  /** @deprecated Renamed {@link FilterStats.gatedOutputs}; this alias will be removed. */
  readonly activations: number;
  /** Total number of gated neurons (elements) over those outputs. */
  readonly elements: number;
  /**
   * Only with `measureBlocked: true`: resolves to the fraction of gated neurons
   * whose gradient was zeroed (their activation on the explanation left the
   * image's interval). Read with `data()`, never synchronously.
   */
  readonly blockedFraction?: Promise<number>;
}

type GradFuncResult = ReturnType<GradConfig['gradFunc']>;

interface PassState {
  readonly fn: string;
  readonly mode: 'capture' | 'filter';
  /** False once the call has returned: late backward passes pass through unchanged. */
  open: boolean;
  /** Number of hooked gradient functions called so far. */
  visited: number;
  /** Engine scope id of the backward pass that made the first visit (one pass per call). */
  passScope: number | undefined;
  /** Capture mode: the bounds kept so far. */
  readonly captured: GateBound[];
  /** Filter mode: the bounds to gate with. */
  readonly bounds: GateBounds | null;
  /** Filter mode with measureBlocked: per-output scalar counts of zeroed neurons (kept). */
  readonly blocked: Tensor[] | null;
  /** Filter mode: number of gated elements. */
  elements: number;
  /** Filter mode: gate in one pass where the backend allows it. */
  readonly fused: boolean;
  /** The kernel names hooked. */
  hooked: readonly string[];
  /** Capture mode: data ids of the layer outputs that need no gate (read from the tape at the first visit). */
  redundant: Set<object> | null;
  /**
   * Capture mode: tensor ids of the outputs of the other hooked kernels (see
   * {@link isOtherKernel}) that lie between two linear layers (read from the
   * tape at the first visit); null when the tape could not be read.
   */
  hidden: Set<number> | null | undefined;
  /** Capture mode, per captured bound: for another kernel, whether it is hidden (undefined: not another kernel, or unknown). */
  capturedHidden: Array<boolean | undefined>;
  /** Capture: whether the tape holds hidden outputs of smooth nonlinearities that are not hooked. */
  ungatedSmooth: boolean;
}

/** The function that is currently running hooked, to refuse nesting. */
let activeCall: string | null = null;

/**
 * Run synchronous `f` (which computes gradients, e.g. with `tf.valueAndGrad`
 * or `tf.variableGrads`) and capture bounds from the gated outputs its
 * backward pass visits. Gradients are not changed: at e = x the filter is the
 * identity, so this pass can double as the first optimisation step.
 *
 * `f` must run exactly one backward pass through the model. The returned
 * bounds own tensors: dispose them when done. If `f` throws, every tensor kept
 * by the capture is released.
 *
 * @param f Synchronous function that runs the forward and backward pass; must
 *   not return a Promise.
 * @param options Which kernels' outputs to gate.
 * @returns `f`'s result and the captured bounds, in backward-visit order.
 */
export function captureBounds<T>(
  f: () => T,
  options: GradientFilterOptions = {},
): { result: T; bounds: GateBounds } {
  const fn = 'captureBounds';
  checkFunction(fn, f);
  assertGradientsRegistered(fn);
  const kernels = resolveGatedKernels(fn, options, null);
  const state = newState(fn, 'capture', null, false, false);
  let result: T;
  try {
    result = runHooked(state, kernels, f);
  } catch (e) {
    for (const b of state.captured) disposeBound(b);
    throw e;
  }
  return {
    result,
    bounds: new GateBounds(hiddenLayersOnly(state.captured, state.capturedHidden), kernels, { ungatedNonlinearities: state.ungatedSmooth }),
  };
}

/**
 * Whether the active tape holds outputs of smooth nonlinearities
 * ({@link SMOOTH_ACTIVATION_KERNELS}) between two linear layers that `hooked`
 * does not gate: a network built from them (swish, GELU, softplus) is then
 * defended only at its ReLU-family and layer outputs, if it has any.
 */
function hasUngatedSmoothOutputs(hooked: readonly string[]): boolean {
  const ungated = SMOOTH_ACTIVATION_KERNELS.filter((k) => !hooked.includes(k));
  return ungated.length > 0 && (hiddenOutputs(ungated)?.size ?? 0) > 0;
}

/**
 * Whether `kernel` is neither a ReLU-family activation ({@link ACTIVATION_KERNELS})
 * nor one of the layer outputs of {@link LAYER_OUTPUT_KERNELS}: the smooth
 * nonlinearities (`Sigmoid`, `Tanh`, `Softplus`, ...) and anything else a
 * caller hooks. Their outputs are gated only inside the network, where the
 * tape shows a linear layer (a convolution or a matrix product) upstream and
 * another downstream: never the explanation's own arithmetic (the
 * `'sigmoid'` mask parameterisation's `Sigmoid`, `m * x`), the input's
 * normalisation, the model's output nonlinearity (a single-score model's
 * final `Sigmoid`) or the score reading. When the tape cannot be read they
 * follow the rules of the layer outputs.
 */
function isOtherKernel(kernel: string): boolean {
  return !ACTIVATION_KERNELS.includes(kernel) && !LAYER_OUTPUT_KERNELS.includes(kernel);
}

/**
 * Two kinds of layer outputs (non-activation kernels) are not gated: the
 * input's normalisation (outputs before the first convolution or activation
 * of the forward pass, e.g. the `Add` of a Keras `Rescaling` layer) and the
 * classification layer (outputs after the last activation that hold one
 * value per channel, whatever their rank: the logits of a dense head, or of
 * a 1x1 convolution on globally pooled features, `[1,1,1,K]` then reshaped,
 * as in MobileNet heads). See {@link isClassificationOutput}. Their bounds are
 * released and replaced by pass-through entries. `captured` is in
 * backward-visit order (the forward pass's last output first).
 */
function hiddenLayersOnly(captured: GateBound[], hidden: ReadonlyArray<boolean | undefined> = []): GateBound[] {
  // A hidden output of another kernel (a smooth nonlinearity) counts as an activation; one outside the network passes.
  const isActivation = (b: GateBound, i: number) => ACTIVATION_KERNELS.includes(b.kernel) || hidden[i] === true;
  const startsNetwork = (b: GateBound, i: number) => isActivation(b, i) || b.kernel === 'Conv2D' || b.kernel === 'DepthwiseConv2dNative';
  const pass = new Set<number>();
  for (let i = 0; i < captured.length; i++) if (hidden[i] === false) pass.add(i);
  for (let i = captured.length - 1; i >= 0 && !startsNetwork(captured[i]!, i); i--) pass.add(i);
  for (let i = 0; i < captured.length && !isActivation(captured[i]!, i); i++) if (isClassificationOutput(captured[i]!.shape)) pass.add(i);
  return captured.map((b, i) => {
    if (!pass.has(i)) return b;
    disposeBound(b);
    return new PassThroughBound(b.kernel, b.shape);
  });
}

/**
 * Whether an output after the last activation belongs to the classification
 * layer: one value per channel (per class), i.e. rank <= 2, or every spatial
 * dimension 1 (`[N,1,1,K]`). A spatial map of class evidence (e.g. the
 * `[N,H,W,K]` output of mini-Xception's last convolution, which a global
 * average pooling turns into logits) is a hidden convolution output and stays
 * gated: exempting it too let the emotion model's least likely class reach
 * 0.53 and 0.73 on two of three face crops (1.3e-5 and 0.058 gated; docs/defaults.md).
 */
export function isClassificationOutput(shape: readonly number[]): boolean {
  return shape.length <= 2 || shape.slice(1, -1).every((d) => d === 1);
}

/**
 * Run synchronous `f` (which computes gradients) with the defense installed:
 * the gradient arriving at the k-th gated output visited by the backward
 * pass is multiplied by `[lo_k <= h(e) <= hi_k]`; gradients through neurons
 * whose output left the image's interval are zeroed. The forward pass is
 * unchanged.
 *
 * `f` must run exactly one backward pass through the same model, with the same
 * input shape, as the capture. A pass whose gated outputs do not match the
 * bounds (kernel, shape or number) throws a `FgvisModelError`.
 *
 * @param bounds Bounds from {@link captureBounds} (not disposed).
 * @param f Synchronous function that runs the forward and backward pass; must
 *   not return a Promise.
 * @param options The gated kernels (default: the capture's list) and
 *   whether to measure the blocked fraction.
 * @returns `f`'s result and statistics of the pass.
 */
export function withGradientFilter<T>(
  bounds: GateBounds,
  f: () => T,
  options: GradientFilterOptions = {},
): { result: T; gated: FilterStats } {
  const fn = 'withGradientFilter';
  if (!(bounds instanceof GateBounds)) {
    throw new FgvisArgumentError(fn, 'bounds', `must be GateBounds from captureBounds, got ${describe(bounds)}`);
  }
  if (bounds.disposed) {
    throw new FgvisArgumentError(fn, 'bounds', 'have been disposed; expected live GateBounds from captureBounds');
  }
  checkFunction(fn, f);
  assertGradientsRegistered(fn);
  const kernels = resolveGatedKernels(fn, options, bounds.kernels);
  const state = newState(fn, 'filter', bounds, options.measureBlocked === true, options.fused !== false);
  const mark = tensorIdMark();
  let result: T;
  try {
    result = runHooked(state, kernels, f);
    if (state.visited !== bounds.size) {
      disposeNewTensors(result, mark);
      throw new FgvisModelError(
        fn,
        `the backward pass visited ${state.visited} gated output(s), but ${bounds.size} bound(s) were ` +
          'captured. The bounds must come from the same model, input shape and list of gated kernels, and f must ' +
          'compute exactly one gradient through the model.',
      );
    }
  } catch (e) {
    if (state.blocked) tf.dispose(state.blocked);
    throw e;
  }
  const gated: FilterStats = {
    gatedOutputs: bounds.gatedOutputs,
    activations: bounds.gatedOutputs,
    elements: state.elements,
    ...(state.blocked ? { blockedFraction: readBlockedFraction(state.blocked, state.elements) } : {}),
  };
  return { result, gated };
}

/**
 * Stateful convenience wrapper: the first {@link GradientFilter.run} captures
 * the bounds (gradients unchanged, as at e = x), every later run filters with
 * them. Call {@link GradientFilter.dispose} when done; a run after `dispose`
 * captures anew.
 */
export class GradientFilter {
  private readonly options: GradientFilterOptions;
  private current: GateBounds | null = null;
  private stats: FilterStats | null = null;

  /** @param options The gated kernels, and whether to measure the blocked fraction. */
  constructor(options: GradientFilterOptions = {}) {
    if (options == null || typeof options !== 'object') {
      throw new FgvisArgumentError('GradientFilter', 'options', `must be an object, got ${describe(options)}`);
    }
    checkFilterOptions('GradientFilter', options);
    if (gatedKernelsOption('GradientFilter', options).list !== undefined) resolveGatedKernels('GradientFilter', options, null);
    this.options = { ...options };
  }

  /**
   * Run synchronous `f` (one forward and backward pass): captures bounds on the
   * first call, filters on every later call.
   *
   * @returns `f`'s result.
   */
  run<T>(f: () => T): T {
    checkFunction('GradientFilter.run', f);
    if (this.current == null) {
      const { result, bounds } = captureBounds(f, this.options);
      this.current = bounds;
      this.stats = {
        gatedOutputs: bounds.gatedOutputs,
        activations: bounds.gatedOutputs,
        elements: bounds.numElements,
        ...(this.options.measureBlocked ? { blockedFraction: Promise.resolve(0) } : {}),
      };
      return result;
    }
    const { result, gated } = withGradientFilter(this.current, f, this.options);
    this.stats = gated;
    return result;
  }

  /** The captured bounds, or `null` before the first run (or after `dispose`). */
  get bounds(): GateBounds | null {
    return this.current;
  }

  /** Number of outputs whose gradient is gated (0 before the first run). */
  get gatedOutputs(): number {
    return this.current?.gatedOutputs ?? 0;
  }

  /** @deprecated Renamed {@link GradientFilter.gatedOutputs}; this alias will be removed. */
  get count(): number {
    return this.gatedOutputs;
  }

  /** Statistics of the last run (the capture counts as a pass that blocked nothing). */
  get lastStats(): FilterStats | null {
    return this.stats;
  }

  /** Release the bounds. Idempotent; a later run captures again. */
  dispose(): void {
    this.current?.dispose();
    this.current = null;
    this.stats = null;
  }
}

// ---------------------------------------------------------------------------
// Internals

function newState(
  fn: string,
  mode: 'capture' | 'filter',
  bounds: GateBounds | null,
  measureBlocked: boolean,
  fused: boolean,
): PassState {
  return {
    fn,
    mode,
    open: true,
    visited: 0,
    passScope: undefined,
    captured: [],
    bounds,
    blocked: measureBlocked ? [] : null,
    elements: 0,
    fused,
    hooked: [],
    redundant: null,
    hidden: undefined,
    capturedHidden: [],
    ungatedSmooth: false,
  };
}

function checkFunction(fn: string, f: unknown): void {
  if (typeof f !== 'function') {
    throw new FgvisArgumentError(fn, 'f', `must be a function, got ${describe(f)}`);
  }
}

/** The options object of the hook's functions: known names, booleans where booleans belong. */
function checkFilterOptions(fn: string, options: GradientFilterOptions): void {
  if (options == null || typeof options !== 'object' || Array.isArray(options)) {
    throw new FgvisArgumentError(fn, 'options', `must be an object, got ${describe(options)}`);
  }
  checkOptionNames(fn, options, ['gatedKernels', 'activations', 'measureBlocked', 'fused']);
  for (const k of ['measureBlocked', 'fused'] as const) {
    if (options[k] !== undefined && typeof options[k] !== 'boolean') {
      throw new FgvisArgumentError(fn, `options.${k}`, `must be a boolean, got ${describe(options[k])}`);
    }
  }
}

/**
 * The gated-kernels option and the name the user gave it: `gatedKernels`, or
 * its deprecated alias `activations` (not both).
 */
export function gatedKernelsOption(
  fn: string,
  options: { gatedKernels?: readonly string[]; activations?: readonly string[] },
): { list: readonly string[] | undefined; argument: string } {
  if (options.gatedKernels !== undefined && options.activations !== undefined) {
    throw new FgvisArgumentError(fn, 'options.activations', 'is the deprecated name of options.gatedKernels; give only options.gatedKernels');
  }
  return options.activations !== undefined
    ? { list: options.activations, argument: 'options.activations' }
    : { list: options.gatedKernels, argument: 'options.gatedKernels' };
}

/** `list` must be an array of kernel names, each with a registered gradient; returns it without repeats. */
export function checkGatedKernels(fn: string, list: unknown, argument = 'options.gatedKernels'): readonly string[] {
  if (!Array.isArray(list) || list.some((k) => typeof k !== 'string' || k.length === 0)) {
    throw new FgvisArgumentError(fn, argument, `must be an array of kernel names, got ${describe(list)}`);
  }
  const names = [...new Set(list as string[])];
  for (const k of names) {
    if (getGradient(k) == null) {
      throw new FgvisArgumentError(fn, argument, `contains ${describe(k)}, which has no registered gradient (kernel names are case-sensitive, e.g. "Relu")`);
    }
  }
  return names;
}

/**
 * The kernel names to hook: the user's list (each must have a registered
 * gradient), else `fallback`, else the default list (kernels without a
 * registered gradient are skipped: tfjs could not differentiate them anyway).
 */
function resolveGatedKernels(
  fn: string,
  options: GradientFilterOptions,
  fallback: readonly string[] | null,
): readonly string[] {
  checkFilterOptions(fn, options);
  const given = gatedKernelsOption(fn, options);
  const explicit = given.list ?? fallback;
  if (explicit != null) return checkGatedKernels(fn, explicit, given.argument);
  return DEFAULT_GATED_KERNELS.filter((k) => getGradient(k) != null);
}

/** Run `f` with the hooked gradient configs installed; restore them, and clean up, always. */
function runHooked<T>(state: PassState, kernels: readonly string[], f: () => T): T {
  const fn = state.fn;
  if (activeCall != null) {
    throw new FgvisArgumentError(fn, 'f', `must not call captureBounds or withGradientFilter inside ${activeCall}`);
  }
  const replacements = new Map<string, GradConfig>();
  state.hooked = kernels;
  for (const k of kernels) replacements.set(k, hookedConfig(k, getGradient(k)!, state));
  activeCall = fn;
  try {
    return withTapeCleanup(() => withSwaps([() => swapGradients(replacements)], () => {
      const out = f();
      if (isPromiseLike(out)) {
        // The registry is restored below; silence the abandoned promise's rejection.
        Promise.resolve(out).catch(() => undefined);
        throw new FgvisArgumentError(
          fn,
          'f',
          'must be synchronous, got a function that returned a Promise: the gradient registry must not stay ' +
            'patched across an await. Compute the gradients synchronously inside f and await outside it.',
        );
      }
      return out;
    }));
  } finally {
    state.open = false;
    activeCall = null;
  }
}

/**
 * A copy of `original` that also saves output 0 and whose gradient function
 * captures bounds (capture mode) or gates dy (filter mode), then calls the
 * original gradient function with exactly the tensors it would have saved.
 */
function hookedConfig(kernel: string, original: GradConfig, state: PassState): GradConfig {
  const originalOutputs = original.outputsToSave ?? [];
  const originalSavesOutput0 = originalOutputs[0] === true;
  // Outputs other than 0 that the original saves: they follow output 0 in `saved`.
  const otherOutputsSaved = originalOutputs.slice(1).filter((s) => s).length;
  const config: GradConfig = {
    kernelName: kernel,
    outputsToSave: [true, ...originalOutputs.slice(1)],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap): GradFuncResult => {
      // saved = [saved inputs..., output 0, other saved outputs...]
      const at = saved.length - 1 - otherOutputsSaved;
      const h = saved[at]!;
      const originalSaved = originalSavesOutput0 ? saved : [...saved.slice(0, at), ...saved.slice(at + 1)];
      if (!state.open) return original.gradFunc(dy, originalSaved, attrs);
      checkSinglePass(state);
      const index = state.visited++;
      if (state.mode === 'capture') {
        if (state.redundant === null) state.ungatedSmooth = hasUngatedSmoothOutputs(state.hooked);
        state.redundant ??= redundantOutputs(state.hooked);
        if (isOtherKernel(kernel)) {
          if (state.hidden === undefined) state.hidden = hiddenOutputs(state.hooked.filter(isOtherKernel));
          state.capturedHidden[state.captured.length] = state.hidden === null ? undefined : state.hidden.has(h.id);
        }
        if (state.redundant.has(h.dataId)) {
          state.captured.push(new PassThroughBound(kernel, h.shape.slice()));
        } else if (nonNegativeOutput(kernel, attrs)) {
          // lo = min(0, h) is all zeros: store hi only.
          const hi = tf.tidy(() => tf.maximum(h, 0));
          state.captured.push(new NonNegativeBound(kernel, h.shape.slice(), tf.keep(hi)));
        } else if (fusedGateAvailable()) {
          // The one-pass gate derives lo = min(0, h) and hi = max(0, h) from h itself: keep h only.
          const value = tf.tidy(() => tf.clone(h));
          state.captured.push(new SignedBound(kernel, h.shape.slice(), tf.keep(value)));
        } else {
          const [lo, hi] = tf.tidy(() => [tf.minimum(h, 0), tf.maximum(h, 0)]);
          state.captured.push({ kernel, shape: h.shape.slice(), lo: tf.keep(lo!), hi: tf.keep(hi!) });
        }
        return original.gradFunc(dy, originalSaved, attrs);
      }
      const bound = matchBound(state, index, kernel, h);
      if (bound instanceof PassThroughBound) return original.gradFunc(dy, originalSaved, attrs);
      state.elements += h.size;
      const dy0 = Array.isArray(dy) ? dy[0]! : dy;
      const fast = state.fused && state.blocked === null;
      const arrays: BoundArrays<Tensor> =
        bound instanceof SignedBound
          ? { kind: 'signed', value: bound.value }
          : bound.loIsZero === true
            ? { kind: 'nonNegative', hi: bound.hi }
            : { kind: 'interval', lo: bound.lo, hi: bound.hi };
      // Relu, Relu6, ClipByValue with tfjs's gradient: gate and differentiate in one pass.
      if (fast && !Array.isArray(dy) && isStockReluLike(kernel, original)) {
        const x = originalSaved[0]!;
        const clip = kernel === 'ClipByValue' ? clipRange(attrs) : undefined;
        if (kernel !== 'ClipByValue' || clip !== undefined) {
          const dx = fusedGate(dy0, h, arrays, kernel as FusedActivation, x, clip);
          if (dx !== null) return { x: () => dx };
        }
      }
      const gated =
        (fast ? fusedGate(dy0, h, arrays, null, null) : null) ??
        tf.tidy(() => {
          // (a SignedBound makes its lo and hi here, once, and keeps them)
          const lo = bound.loIsZero === true ? null : bound.lo;
          const inside =
            lo === null ? tf.lessEqual(h, bound.hi) : tf.logicalAnd(tf.greaterEqual(h, lo), tf.lessEqual(h, bound.hi));
          if (state.blocked) state.blocked.push(tf.keep(tf.sum(tf.cast(tf.logicalNot(inside), 'float32'))));
          return tf.where(inside, dy0, tf.zerosLike(dy0));
        });
      const grads = original.gradFunc(Array.isArray(dy) ? [gated, ...dy.slice(1)] : gated, originalSaved, attrs);
      const names = Object.keys(grads);
      if (names.length !== 1) return grads; // gated is released with the backward pass's scope
      // One input: its thunk is the only user of `gated`, release it right after.
      const name = names[0]!;
      const thunk = grads[name]!;
      return {
        [name]: () => {
          const dx = thunk();
          if (dx !== gated) gated.dispose();
          return dx;
        },
      };
    },
  };
  if (original.saveAllInputs) config.saveAllInputs = true;
  if (original.inputsToSave) config.inputsToSave = original.inputsToSave.slice();
  return config;
}

/** Kernels whose output is never negative, so that `lo = min(0, h(x))` is all zeros. */
function nonNegativeOutput(kernel: string, attrs: NamedAttrMap): boolean {
  if (kernel === 'Relu' || kernel === 'Relu6') return true;
  if (kernel === 'ClipByValue') {
    const min = attrs?.['clipValueMin'];
    return typeof min === 'number' && min >= 0;
  }
  return false;
}

/** The `ClipByValue` range from its attributes, or undefined when they are not numbers. */
function clipRange(attrs: NamedAttrMap): { min: number; max: number } | undefined {
  const min = attrs?.['clipValueMin'];
  const max = attrs?.['clipValueMax'];
  return typeof min === 'number' && typeof max === 'number' ? { min, max } : undefined;
}

/**
 * `Relu` / `Relu6` / `ClipByValue` whose registered gradient saves exactly what tfjs's own
 * does (the input `x`, no outputs), so that its gradient can be computed by
 * the fused pass (`x > 0`, resp. `0 < x <= 6`).
 */
function isStockReluLike(kernel: string, original: GradConfig): boolean {
  if (kernel !== 'Relu' && kernel !== 'Relu6' && kernel !== 'ClipByValue') return false;
  const inputs = original.inputsToSave;
  return (
    !original.saveAllInputs &&
    Array.isArray(inputs) &&
    inputs.length === 1 &&
    inputs[0] === 'x' &&
    (original.outputsToSave ?? []).every((o) => !o)
  );
}

function matchBound(state: PassState, index: number, kernel: string, h: Tensor): GateBound {
  const bounds = state.bounds!;
  const here = `${kernel} [${h.shape.join(',')}]`;
  if (index >= bounds.size) {
    throw new FgvisModelError(
      state.fn,
      `the backward pass visited more gated outputs than the ${bounds.size} captured: output #${index + 1} ` +
        `is ${here}. The bounds must come from the same model, input shape and list of gated kernels.`,
    );
  }
  const b = bounds.entries[index]!;
  if (b.kernel !== kernel || !sameShape(b.shape, h.shape)) {
    throw new FgvisModelError(
      state.fn,
      `gated output #${index + 1} of the backward pass is ${here}, but captured bound #${index + 1} is ` +
        `${b.kernel} [${b.shape.join(',')}]. The bounds must come from the same model, input shape and list of gated kernels.`,
    );
  }
  return b;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Refuse a call whose f runs several backward passes (the order-based matching assumes one). */
function checkSinglePass(state: PassState): void {
  const scope = engineState()?.activeScope?.id;
  if (scope === undefined) return;
  if (state.passScope === undefined) {
    state.passScope = scope;
  } else if (state.passScope !== scope) {
    throw new FgvisModelError(
      state.fn,
      'f ran more than one backward pass through gated outputs; run exactly one gradient computation ' +
        '(e.g. one tf.valueAndGrads or tf.variableGrads) per call.',
    );
  }
}

function readBlockedFraction(counts: Tensor[], elements: number): Promise<number> {
  if (counts.length === 0 || elements === 0) {
    tf.dispose(counts);
    return Promise.resolve(0);
  }
  const total = tf.tidy(() => tf.addN(counts));
  tf.dispose(counts);
  return (async () => {
    try {
      const [blocked] = await total.data();
      return blocked! / elements;
    } finally {
      total.dispose();
    }
  })();
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value instanceof Promise ||
    (value != null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function')
  );
}

/** An id no earlier tensor has: tensor ids are increasing. */
function tensorIdMark(): number {
  const probe = tf.scalar(0);
  const id = probe.id;
  probe.dispose();
  return id;
}

/** Dispose the tensors in `value` (arrays, plain objects) created after `mark`; never variables. */
function disposeNewTensors(value: unknown, mark: number, depth = 0): void {
  if (value == null || depth > 8) return;
  if (value instanceof tf.Tensor) {
    if (value.id > mark && !(value instanceof tf.Variable)) value.dispose();
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) disposeNewTensors(v, mark, depth + 1);
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value as Record<string, unknown>)) disposeNewTensors(v, mark, depth + 1);
  }
}
