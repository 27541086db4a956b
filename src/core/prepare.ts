/**
 * The first stage of an FGVis run: everything the steps need, made once.
 * The model adapter, the images of the items, their targets and scores, the
 * references, the mask (one row per item), the gradient filter, and each
 * item's loss, automatic lambda, optimiser and run control.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { FgvisArgumentError, FgvisModelError, describe, throwIfAborted } from '../util/errors';
import { GradientFilter, type GradientFilterOptions } from '../filter';
import type { InputGradientKernelOptions } from '../kernels';
import { checkTarget } from '../util/input';
import { readAndDispose } from '../util/read';
import { makeReference } from '../util/reference';
import { adaptModel, type ExplainableModel, type ScoreModel } from '../model/adapter';
import { modelLabels } from '../model/labels';
import { RunControl } from './control';
import type { RunItem } from './explanation';
import { AutoLambda, scoreGoal, type ScoreGoal } from './lambda';
import { buildLoss, type FgvisLoss } from './loss';
import { composeExplanation, createMask, type Mask } from './mask';
import { adam, sgd, type Optimizer } from './optimize';
import type { ExplainLive, ExplainStep, ResolvedExplainOptions } from './options';

/** One explanation of a run: its class, scores, loss and the state that steers it. */
export interface ItemState {
  /** The class explained. */
  readonly target: number;
  /** The target's score on the image and on the reference alone. */
  readonly scoreImage: number;
  readonly scoreReference: number;
  readonly loss: FgvisLoss;
  /** The automatic lambda's goal (undefined for a fixed lambda). */
  readonly goal: ScoreGoal | undefined;
  /** The automatic lambda's state (null for a fixed lambda). */
  readonly auto: AutoLambda | null;
  /** This item's optimiser (its rows of the mask). */
  readonly optimizer: Optimizer;
  readonly control: RunControl;
  /** The records read so far. */
  readonly history: ExplainStep[];
  /** What `onStep` may look at. */
  readonly live: ExplainLive;
  /** False once its control stopped it: its rows are frozen. */
  active: boolean;
  /** The last step it ran. */
  steps: number;
}

/** Internal knobs of a run (the benchmark's ablations); not options of `explain()`. */
export interface RunTuning {
  /** Passed to `withInputGradientKernels` for every gradient. */
  kernels?: InputGradientKernelOptions;
  /** Passed to the `GradientFilter` (e.g. `fused: false`). */
  filter?: Omit<GradientFilterOptions, 'gatedKernels' | 'activations'>;
}

/** A prepared run of B explanations. Owns its tensors: call `dispose()`. */
export interface Run {
  /** The calling function's name, for messages. */
  readonly fn: string;
  readonly options: ResolvedExplainOptions;
  /** `[B, H, W, C]`: one row per item. */
  readonly batchShape: readonly [number, number, number, number];
  /** The shape of one result tensor (one image as the user gave it). */
  readonly itemShape: readonly number[];
  readonly scorer: ScoreModel;
  /** Each item's image, `[B, H, W, C]`. */
  readonly x: tf.Tensor4D;
  /** Each item's reference, `[B, H, W, C]` (null: zero). */
  readonly reference: tf.Tensor4D | null;
  /** The mask, one row per item. */
  readonly mask: Mask;
  /** The defense (null with `defense: false`). */
  readonly filter: GradientFilter | null;
  readonly items: readonly ItemState[];
  /** The lambda of a fixed-lambda run (0 with `'auto'`). */
  readonly fixedLambda: number;
  readonly tuning: RunTuning;
  /** Write `values` (one row) into item i's rows of the mask; the other rows' parameters stay bit for bit. */
  assignRow(i: number, values: tf.Tensor): void;
  /** Free everything the run owns. Idempotent. */
  dispose(): void;
}

/** Rows `[i, i+1)` of a batched tensor (the tensor itself when the batch has one row). */
export function row<T extends tf.Tensor>(t: T, i: number, batch: number): T {
  return batch === 1 ? t : (tf.slice(t, i, 1) as T);
}

/** The model's probabilities on a batch; a failure on a batch of several names `batchSize: 1`. */
function probsOn(scorer: ScoreModel, x: tf.Tensor4D, fn: string, items: number): tf.Tensor2D {
  return tf.tidy(() => {
    try {
      return scorer.probs(x);
    } catch (e) {
      if (items > 1 && !(e instanceof FgvisArgumentError)) {
        throw new FgvisModelError(fn, `the model failed on a batch of ${items} inputs (${(e as Error)?.message ?? describe(e)}); pass options.batchSize: 1`);
      }
      throw e;
    }
  });
}

/** Each item's reference as rows of a batch (null: the zero reference); checks a user tensor is finite. */
async function itemReferences(images: tf.Tensor4D, imageIndex: readonly number[], o: ResolvedExplainOptions, fn: string): Promise<tf.Tensor4D | null> {
  const perImage: (tf.Tensor4D | null)[] = [];
  let reference: tf.Tensor4D | null = null;
  try {
    for (let n = 0; n < images.shape[0]; n++) {
      const xn = tf.slice(images, n, 1);
      try {
        perImage.push(makeReference(xn, o.reference, { blurSigma: o.blurSigma, seed: o.seed, caller: fn }));
      } finally {
        xn.dispose();
      }
    }
    if (perImage[0] !== null) reference = tf.tidy(() => tf.concat(imageIndex.map((n) => perImage[n]!)) as tf.Tensor4D);
  } finally {
    tf.dispose(perImage.filter((r): r is tf.Tensor4D => r !== null));
  }
  if (reference !== null && o.reference instanceof tf.Tensor) {
    const values = await reference.data();
    const i = values.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) {
      reference.dispose();
      const [, H, W, C] = images.shape;
      throw new FgvisArgumentError(fn, 'options.reference', `must be finite, got ${describe(values[i])} at flat index ${i % (H * W * C)}`);
    }
  }
  return reference;
}

/** One item's state: loss, goal, automatic lambda, optimiser, control. */
function itemState(o: ResolvedExplainOptions, target: number, scoreImage: number, scoreReference: number, imageProbs: tf.Tensor2D, live: ExplainLive): ItemState {
  const loss = buildLoss({ game: o.game, classTerm: o.classTerm, target, imageProbs });
  const goal = o.lambda === 'auto' ? scoreGoal(o.game, scoreImage, scoreReference, o.autoLambda) : undefined;
  const optimizer = o.optimizer === 'adam' ? adam({ learningRate: o.learningRate, beta1: o.beta1 }) : sgd({ learningRate: o.learningRate });
  const auto = goal ? new AutoLambda(goal, o.autoLambda) : null;
  const control = new RunControl({ game: o.game, goal, earlyStop: o.earlyStop, backoff: o.backoff, autoLambda: auto !== null });
  return { target, scoreImage, scoreReference, loss, goal, auto, optimizer, control, history: [], live, active: true, steps: 0 };
}

/**
 * Prepare a run of `items` on `images` (`[N,H,W,C]`, not disposed). On
 * failure everything made so far is freed. With a sigmoid mask and the
 * defense on, the bounds are captured here (see `captureBoundsAtImage`).
 */
export async function prepareRun(
  model: ExplainableModel,
  images: tf.Tensor4D,
  runItems: readonly RunItem[],
  o: ResolvedExplainOptions,
  fn: string,
  itemShape: readonly number[],
  tuning: RunTuning = {},
): Promise<Run> {
  const B = runItems.length;
  const [, H, W, C] = images.shape;
  const batchShape = [B, H, W, C] as const;
  const owned: tf.Tensor[] = [];
  const own = <T extends tf.Tensor>(t: T): T => (owned.push(t), t);
  const items: ItemState[] = [];
  let mask: Mask | null = null;
  let filter: GradientFilter | null = null;
  const dispose = () => {
    tf.dispose(owned);
    owned.length = 0;
    mask?.dispose();
    filter?.dispose();
    for (const s of items) {
      s.auto?.dispose();
      s.optimizer.dispose();
    }
    items.length = 0;
  };
  try {
    const first = own(tf.slice(images, 0, 1));
    const scorer = await adaptModel(model, first, { scores: o.scores, outputNode: o.outputNode, caller: fn });
    const imageIndex = runItems.map((it) => it.image);
    const x = own(B === 1 && images.shape[0] === 1 ? tf.clone(images) : (tf.gather(images, imageIndex) as tf.Tensor4D));
    const imageProbs = own(probsOn(scorer, images, fn, B));
    const probValues = await imageProbs.data();
    const K = imageProbs.shape[1];
    const labels = o.labels ?? modelLabels(model);
    const targets = runItems.map((it) => checkTarget(it.target, probValues.subarray(it.image * K, (it.image + 1) * K), fn, labels));
    const reference = await itemReferences(images, imageIndex, o, fn);
    if (reference) own(reference);
    const referenceProbs = await readAndDispose(probsOn(scorer, reference ?? own(tf.zerosLike(x)), fn, B));
    throwIfAborted(o.signal);

    mask = createMask(batchShape, { parameterization: o.parameterization });
    const m0 = mask;
    const removes = o.game === 'deletion';
    const current = (i: number, what: 'mask' | 'explanation' | 'evidence') =>
      tf.tidy(() => {
        const m = row(m0.values(), i, B);
        const kept = what === 'evidence' && removes ? tf.sub(1, m) : m;
        const v = what === 'mask' ? m : composeExplanation(kept, row(x, i, B), reference && row(reference, i, B));
        return tf.reshape(v, itemShape as number[]);
      });
    for (let i = 0; i < B; i++) {
      const c = targets[i]!;
      const itemProbs = own(tf.slice(imageProbs, runItems[i]!.image, 1));
      items.push(itemState(o, c, probValues[runItems[i]!.image * K + c]!, referenceProbs[i * K + c]!, itemProbs, { item: i, mask: () => current(i, 'mask'), explanation: () => current(i, 'explanation'), evidence: () => current(i, 'evidence') }));
    }
    if (o.defense) filter = new GradientFilter({ ...tuning.filter, gatedKernels: o.gatedKernels });
    const assignRow = (i: number, v: tf.Tensor) => {
      if (B === 1) return m0.assign(v);
      tf.tidy(() => {
        const saved = tf.split(m0.param, B);
        m0.assign(tf.concat(saved.map((p, j) => (j === i ? tf.reshape(v, [1, H, W, C]) : m0.valuesOf(p)))));
        const restored = tf.slice(m0.param, i, 1);
        m0.param.assign(tf.concat(saved.map((p, j) => (j === i ? restored : p))));
      });
    };
    const fixedLambda = o.lambda === 'auto' ? 0 : o.lambda;
    return { fn, options: o, batchShape, itemShape, scorer, x, reference, mask, filter, items, fixedLambda, tuning, assignRow, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}
