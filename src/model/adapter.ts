/**
 * Model adapter: turns a tfjs `GraphModel`, a `LayersModel` or a plain
 * function into one differentiable scoring function with a known score kind.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError, FgvisModelError } from '../util/errors';

/**
 * Anything fgvis can explain: a tfjs-converter `GraphModel`, a tfjs-layers
 * `LayersModel`, or a function mapping a `[1,H,W,C]` batch to `[1, classes]`
 * scores. Typed structurally so that fgvis does not depend on tfjs-layers.
 */
export type ExplainableModel = GraphModelLike | LayersModelLike | ModelFunction;

/** A function model: `[1,H,W,C]` in, `[1, classes]` (or `[1, 1]` sigmoid) scores out. */
export type ModelFunction = (x: tf.Tensor4D) => tf.Tensor;

/** The part of a tfjs-converter `GraphModel` that fgvis uses. */
export interface GraphModelLike {
  execute(inputs: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, outputs?: string | string[]): tf.Tensor | tf.Tensor[];
  executeAsync(inputs: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, outputs?: string | string[]): Promise<tf.Tensor | tf.Tensor[]>;
  readonly inputNodes: string[];
  readonly outputNodes: string[];
  readonly inputs: ReadonlyArray<{ name: string; shape?: number[] }>;
}

/** The part of a tfjs-layers `LayersModel` that fgvis uses. */
export interface LayersModelLike {
  apply(inputs: tf.Tensor | tf.Tensor[], kwargs?: { training?: boolean }): tf.Tensor | tf.Tensor[] | unknown;
  readonly layers: unknown[];
  readonly outputs: ReadonlyArray<{ name: string; sourceLayer?: { name: string } }>;
  readonly inputs: ReadonlyArray<{ shape: Array<number | null> }>;
}

/**
 * What the model's output row means.
 * - `'probabilities'`: a softmax row (non-negative, sums to 1);
 * - `'logits'`: unnormalised scores, turned into probabilities with a softmax;
 * - `'sigmoid'`: a single `[1,1]` probability `p`, read as two classes `[1 - p, p]`;
 * - `'sigmoid-logit'`: a single `[1,1]` logit `z`, read as `[sigmoid(-z), sigmoid(z)]`.
 */
export type ScoreKind = 'probabilities' | 'logits' | 'sigmoid' | 'sigmoid-logit';

/** How to read the model's output: `'auto'` detects it from the output on the image. */
export type ScoresOption = 'auto' | 'probabilities' | 'logits';

/** Options of {@link adaptModel}. */
export interface AdaptModelOptions {
  /** How to read the output; default `'auto'` (probabilities when the row is non-negative and sums to 1). */
  scores?: ScoresOption;
  /** Output to explain, for models with several outputs (GraphModel output node or LayersModel output name). */
  outputNode?: string;
  /** Function name used in error messages; default `'explain'`. */
  caller?: string;
}

/** A model adapted to fgvis: differentiable log-probabilities over classes. */
export interface ScoreModel {
  /** Which kind of model was given. */
  readonly kind: 'graph' | 'layers' | 'function';
  /** How the raw output is read. */
  readonly scoreKind: ScoreKind;
  /** Number of classes (2 for a single sigmoid output). */
  readonly numClasses: number;
  /**
   * The model's raw output for a batch `[N,H,W,C]`, validated to be `[N, K]`
   * (K as on the image). Returns a new tensor owned by the caller.
   */
  raw(x: tf.Tensor4D): tf.Tensor2D;
  /** Log-probabilities `[N, numClasses]`, differentiable. Returns a new tensor owned by the caller. */
  logProbs(x: tf.Tensor4D): tf.Tensor2D;
  /** Probabilities `[N, numClasses]`. Returns a new tensor owned by the caller. */
  probs(x: tf.Tensor4D): tf.Tensor2D;
}

/** Smallest probability used inside a logarithm (keeps `log` and its gradient finite). */
const LOG_FLOOR = 1e-30;

/** Tell the supported model kinds apart (a LayersModel also has an `execute` with other semantics). */
export function modelKind(model: unknown): 'graph' | 'layers' | 'function' | undefined {
  if (typeof model === 'function') return 'function';
  if (model == null || typeof model !== 'object') return undefined;
  const m = model as Record<string, unknown>;
  if (Array.isArray(m.layers) && typeof m.apply === 'function') return 'layers';
  if (typeof m.execute === 'function' && typeof m.executeAsync === 'function' && Array.isArray(m.outputNodes)) {
    return 'graph';
  }
  return undefined;
}

/**
 * The index of a LayersModel's output named `outputNode`: an output layer's
 * name (a Sequential has no `outputNames` before `compile()`) or an output
 * tensor's name; 0 without a name, -1 when no output has that name.
 */
export function layersOutputIndex(l: LayersModelLike, outputNode: string | undefined): number {
  if (outputNode === undefined) return 0;
  const byLayer = l.outputs.findIndex((o) => (o.sourceLayer?.name ?? o.name) === outputNode);
  return byLayer >= 0 ? byLayer : l.outputs.findIndex((o) => o.name === outputNode);
}

/**
 * Build the raw forward function for a model, selecting one output.
 * The returned function returns a tensor owned by the caller.
 */
function forwardFunction(model: ExplainableModel, options: AdaptModelOptions): {
  kind: 'graph' | 'layers' | 'function';
  forward: (x: tf.Tensor4D) => tf.Tensor;
} {
  const fn = options.caller ?? 'explain';
  const kind = modelKind(model);
  const outputNode = options.outputNode;
  if (kind === undefined) {
    throw new FgvisArgumentError(
      fn,
      'model',
      `must be a tfjs GraphModel, a LayersModel or a function (x: Tensor4D) => Tensor, got ${describe(model)}`,
    );
  }
  if (kind === 'function') {
    if (outputNode !== undefined) {
      throw new FgvisArgumentError(fn, 'options.outputNode', 'applies only to GraphModels and LayersModels, not to a function model');
    }
    const f = model as ModelFunction;
    return {
      kind,
      forward: (x) => {
        const y = f(x);
        if (!(y instanceof tf.Tensor)) {
          throw new FgvisModelError(fn, `the model function must return a Tensor of shape [1, classes], got ${describe(y)}`);
        }
        return y;
      },
    };
  }
  if (kind === 'graph') {
    const g = model as GraphModelLike;
    if (g.inputNodes.length !== 1) {
      throw new FgvisModelError(fn, `the GraphModel has ${g.inputNodes.length} inputs (${g.inputNodes.join(', ')}); fgvis explains models with one image input`);
    }
    let output = outputNode;
    if (output === undefined) {
      if (g.outputNodes.length !== 1) {
        throw new FgvisArgumentError(
          fn,
          'options.outputNode',
          `is required: the GraphModel has ${g.outputNodes.length} outputs (${g.outputNodes.join(', ')})`,
        );
      }
      output = g.outputNodes[0];
    } else if (!g.outputNodes.includes(output)) {
      // Any node name is valid for execute(); only warn-free names are checked for a typo.
      if (!/^[\w/.:-]+$/.test(output)) {
        throw new FgvisArgumentError(fn, 'options.outputNode', `must be a node name, got ${describe(output)}`);
      }
    }
    return {
      kind,
      forward: (x) => {
        let y: tf.Tensor | tf.Tensor[];
        try {
          y = g.execute(x, output);
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          if (/executeAsync/.test(msg)) {
            throw new FgvisModelError(
              fn,
              'the GraphModel contains dynamic control flow and needs executeAsync(), which cannot be differentiated; ' +
                'export the model without control flow (e.g. without tf.cond/while loops or NonMaxSuppression)',
            );
          }
          throw e;
        }
        if (Array.isArray(y)) {
          if (y.length !== 1) {
            tf.dispose(y);
            throw new FgvisModelError(fn, `the GraphModel returned ${y.length} outputs; pick one with options.outputNode`);
          }
          return y[0]!;
        }
        return y;
      },
    };
  }
  const l = model as LayersModelLike;
  const names = l.outputs.map((o) => o.sourceLayer?.name ?? o.name);
  const index = layersOutputIndex(l, outputNode);
  if (outputNode !== undefined && index < 0) {
    throw new FgvisArgumentError(fn, 'options.outputNode', `must be one of the LayersModel's outputs (${names.join(', ')}), got ${describe(outputNode)}`);
  } else if (outputNode === undefined && names.length !== 1) {
    throw new FgvisArgumentError(fn, 'options.outputNode', `is required: the LayersModel has ${names.length} outputs (${names.join(', ')})`);
  }
  return {
    kind,
    forward: (x) => {
      const y = l.apply(x, { training: false });
      if (Array.isArray(y)) {
        const chosen = y[index] as tf.Tensor;
        tf.dispose(y.filter((_, i) => i !== index) as tf.Tensor[]);
        return chosen;
      }
      return y as tf.Tensor;
    },
  };
}

/**
 * An error thrown by the model itself, as a `FgvisModelError` that says so
 * (with the original as `cause`). fgvis's own errors and aborts (`AbortError`)
 * pass through unchanged.
 */
function modelCallError(fn: string, e: unknown, shape: readonly number[]): unknown {
  if (e instanceof FgvisModelError || e instanceof FgvisArgumentError) return e;
  if (e instanceof Error && e.name === 'AbortError') return e;
  const msg = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
  return new FgvisModelError(fn, `the model threw when called on a [${shape.join(',')}] input: ${msg}`, { cause: e });
}

/** Check the image against the model's declared input shape, where the model declares one. */
function checkInputShape(model: ExplainableModel, kind: string, x: tf.Tensor4D, fn: string): void {
  let declared: ReadonlyArray<number | null | undefined> | undefined;
  if (kind === 'graph') declared = (model as GraphModelLike).inputs[0]?.shape;
  if (kind === 'layers') declared = (model as LayersModelLike).inputs[0]?.shape;
  if (!declared || declared.length !== 4) return;
  for (let i = 1; i < 4; i++) {
    const d = declared[i];
    if (d != null && d > 0 && d !== x.shape[i]) {
      throw new FgvisArgumentError(
        fn,
        'input',
        `must match the model's input shape [${declared.map((v) => (v == null || v < 0 ? '?' : v)).join(',')}], got [${x.shape.join(',')}]`,
      );
    }
  }
}

/**
 * Adapt a model to fgvis: validates its output on `x` (one forward pass, read
 * asynchronously), detects the score kind and returns differentiable scoring
 * functions. `x` must be `[1,H,W,C]` float32; it is not disposed.
 */
export async function adaptModel(
  model: ExplainableModel,
  x: tf.Tensor4D,
  options: AdaptModelOptions = {},
): Promise<ScoreModel> {
  const fn = options.caller ?? 'explain';
  const scores = options.scores ?? 'auto';
  if (!['auto', 'probabilities', 'logits'].includes(scores)) {
    throw new FgvisArgumentError(fn, 'options.scores', `must be 'auto', 'probabilities' or 'logits', got ${describe(scores)}`);
  }
  const { kind, forward } = forwardFunction(model, options);
  checkInputShape(model, kind, x, fn);

  let width: number | undefined;
  const raw = (input: tf.Tensor4D): tf.Tensor2D => {
    let y: tf.Tensor;
    try {
      y = forward(input);
    } catch (e) {
      throw modelCallError(fn, e, input.shape);
    }
    const n = input.shape[0];
    if (y.rank !== 2 || y.shape[0] !== n || y.shape[1]! < 1 || (width !== undefined && y.shape[1] !== width)) {
      const shape = y.shape;
      y.dispose();
      const expected = n === 1 ? '[1, classes]' : `[${n}, ${width ?? 'classes'}] for a batch of ${n}`;
      throw new FgvisModelError(fn, `the model's output must have shape ${expected}, got [${shape.join(',')}]`);
    }
    if (y.dtype !== 'float32') {
      const dtype = y.dtype;
      y.dispose();
      throw new FgvisModelError(fn, `the model's output must be float32, got ${dtype}`);
    }
    return y as tf.Tensor2D;
  };

  const first = tf.tidy(() => raw(x));
  const values = await first.data();
  width = first.shape[1];
  first.dispose();
  for (const v of values) {
    if (!Number.isFinite(v)) throw new FgvisModelError(fn, 'the model returned a non-finite score on the input (NaN or Infinity)');
  }

  let scoreKind: ScoreKind;
  if (width === 1) {
    const v = values[0]!;
    if (scores === 'logits') scoreKind = 'sigmoid-logit';
    else if (scores === 'probabilities') {
      if (v < 0 || v > 1) throw new FgvisModelError(fn, `options.scores is 'probabilities' but the single output ${v} is not in [0, 1]`);
      scoreKind = 'sigmoid';
    } else scoreKind = v >= 0 && v <= 1 ? 'sigmoid' : 'sigmoid-logit';
  } else {
    let sum = 0;
    let nonNegative = true;
    for (const v of values) {
      sum += v;
      if (v < 0) nonNegative = false;
    }
    const isDistribution = nonNegative && Math.abs(sum - 1) < 1e-3;
    if (scores === 'probabilities' && !isDistribution) {
      throw new FgvisModelError(fn, `options.scores is 'probabilities' but the output row is not a distribution (sum ${sum.toFixed(4)})`);
    }
    scoreKind = scores === 'logits' ? 'logits' : scores === 'probabilities' || isDistribution ? 'probabilities' : 'logits';
  }

  const logProbs = (input: tf.Tensor4D): tf.Tensor2D => tf.tidy(() => toLogProbabilities(raw(input), scoreKind));
  const probs = (input: tf.Tensor4D): tf.Tensor2D => tf.tidy(() => toProbabilities(raw(input), scoreKind));

  return { kind, scoreKind, numClasses: width === 1 ? 2 : width, raw, logProbs, probs };
}

/** Raw output rows `[N, K]` (or `[N, 1]` sigmoid) to probabilities `[N, classes]`. Returns a new tensor. */
export function toProbabilities(y: tf.Tensor2D, kind: ScoreKind): tf.Tensor2D {
  return tf.tidy(() => {
    switch (kind) {
      case 'probabilities':
        return tf.clone(y);
      case 'logits':
        return tf.softmax(y);
      case 'sigmoid':
        return tf.concat([tf.sub(1, y), y], 1);
      case 'sigmoid-logit':
        return tf.sigmoid(tf.concat([tf.neg(y), y], 1));
    }
  }) as tf.Tensor2D;
}

/**
 * Raw output rows to log-probabilities `[N, classes]`, differentiable; a
 * probability is floored at 1e-30 inside the logarithm. Returns a new tensor.
 */
export function toLogProbabilities(y: tf.Tensor2D, kind: ScoreKind): tf.Tensor2D {
  return tf.tidy(() => (kind === 'logits' ? tf.logSoftmax(y) : tf.log(tf.maximum(toProbabilities(y, kind), LOG_FLOOR)))) as tf.Tensor2D;
}

/** Select column `c` of a `[1, K]` tensor as a scalar, with `slice` (its gradient needs no scatter kernel). */
export function selectClass(row: tf.Tensor2D, c: number): tf.Scalar {
  return tf.tidy(() => tf.reshape(tf.slice(row, [0, c], [1, 1]), []) as tf.Scalar);
}
