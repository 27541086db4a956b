/**
 * The FGVis run behind `explain()` and `explainBatch()`: B explanations
 * optimised together, one batched forward and filtered backward pass per
 * step. Each explanation (an item: an image of the batch and a class) keeps
 * its own optimiser state, automatic lambda, early stopping and back-off
 * guard, so an item's result does not depend on the others; only the model
 * calls are shared. An item that has stopped is frozen (its rows no longer
 * change) until the last one stops. With one item this is `explain()`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { FgvisArgumentError, FgvisModelError, describe, gradientError, throwIfAborted } from './errors';
import { GradientFilter } from './filter';
import { checkTarget } from './input';
import { withInputGradientKernels } from './kernels';
import { runController } from './control';
import { AutoLambda, scoreGoal, type ScoreGoal } from './lambda';
import { buildLoss, type FgvisLoss, type Game } from './loss';
import { composeExplanation, createMask, makeReference, type Mask } from './mask';
import { adaptModel, selectClass, type ExplainableModel } from './model';
import { adam, applyUpdate, optimize, sgd, type Optimizer, type StepRecord } from './optimize';
import { readAndDispose } from './read';
import { withDispose } from './attribution';
import type { ExplainLive, ExplainStep, ResolvedExplainOptions } from './options';

/** The class to explain: an index, or `'top'` for the model's predicted class on the input. */
export type Target = number | 'top';

/** The result of `explain()`. Owns its tensors until {@link Explanation.dispose}. */
export interface Explanation {
  /** The mask `m`, same shape as the input, values in [0, 1]. */
  mask: tf.Tensor;
  /** The explanation `m * x + (1 - m) * r` the model was shown, same shape as the input. */
  explanation: tf.Tensor;
  /** Per-pixel importance `[H, W]` in [0, 1]: channel mean of `m` (preservation) or of `1 - m` (deletion). */
  saliency: tf.Tensor2D;
  /** The class explained. */
  target: number;
  /** The game played. */
  game: Game;
  /** The lambda used (for `'auto'`, the one the returned mask was found with). */
  lambda: number;
  /** The optimisation steps run. */
  steps: number;
  /** How many times the automatic lambda's guard restored the best iterate and slowed down. */
  backoffs: number;
  /** The target's softmax score, read from the unmodified model. */
  scores: {
    /** On the input image. */
    image: number;
    /** On the explanation. */
    explanation: number;
    /** On the reference alone (everything removed): the floor of a deletion. */
    reference: number;
  };
  /** The mask's mean value (L1 norm / size). */
  maskMean: number;
  /** How many activation outputs the defense gated (0 with `defense: false`). */
  filtered: number;
  /** The score goal the automatic lambda aimed for (absent for a fixed lambda). */
  goal?: ScoreGoal;
  /** Per-step record: loss, target score, mask mean, lambda. */
  history: ExplainStep[];
  /** Things the caller should know (e.g. the defense found no activation to filter). */
  warnings: string[];
  /** Free the result's tensors. Idempotent. */
  dispose(): void;
}

/** One explanation of a run: the image (row of the batch) and the class. */
export interface RunItem {
  /** Row of the images tensor. */
  image: number;
  /** The class to explain on it. */
  target: Target;
}

/** Per-item state of a run. */
interface ItemState {
  target: number;
  scoreImage: number;
  scoreReference: number;
  loss: FgvisLoss;
  goal: ScoreGoal | undefined;
  auto: AutoLambda | null;
  optimizer: Optimizer;
  control: ReturnType<typeof runController>;
  history: ExplainStep[];
  /** False once its controller stopped it: its rows are frozen. */
  active: boolean;
  /** The last step it ran. */
  steps: number;
}

const RECORD_KEYS = ['loss', 'score', 'l1', 'lambda', 'gradientCheck'] as const;

/** Rows `[i, i+1)` of a batched tensor (the tensor itself when the batch has one row). */
function row<T extends tf.Tensor>(t: T, i: number, batch: number): T {
  return batch === 1 ? t : (tf.slice(t, i, 1) as T);
}


/**
 * Run FGVis on `items` together. `images` is `[N,H,W,C]` (not disposed);
 * each result's tensors have shape `itemShape` (the shape of one image as
 * the user gave it). Returns one {@link Explanation} per item, in order.
 */
export async function runExplanations(
  model: ExplainableModel,
  images: tf.Tensor4D,
  items: readonly RunItem[],
  o: ResolvedExplainOptions,
  fn: string,
  itemShape: number[],
): Promise<Explanation[]> {
  const B = items.length;
  const [, H, W, C] = images.shape;
  const batchShape: [number, number, number, number] = [B, H, W, C];

  // Everything the run owns, freed in `finally` whatever happens.
  const owned: tf.Tensor[] = [];
  const own = <T extends tf.Tensor>(t: T): T => {
    owned.push(t);
    return t;
  };
  const states: ItemState[] = [];
  let mask: Mask | null = null;
  let filter: GradientFilter | null = null;
  let resultTensors: tf.Tensor[] = [];
  try {
    const first = own(tf.slice(images, 0, 1));
    const scorer = await adaptModel(model, first, { scores: o.scores, outputNode: o.outputNode, caller: fn });
    const batchError = (e: unknown): never => {
      if (B > 1 && !(e instanceof FgvisArgumentError)) {
        throw new FgvisModelError(fn, `the model failed on a batch of ${B} inputs (${(e as Error)?.message ?? describe(e)}); pass options.batchSize: 1`);
      }
      throw e;
    };
    const imageIndex = items.map((it) => it.image);
    const x = own(B === 1 && images.shape[0] === 1 ? tf.clone(images) : tf.gather(images, imageIndex));
    const imageProbs = own(tf.tidy(() => {
      try {
        return scorer.probs(images);
      } catch (e) {
        return batchError(e);
      }
    }));
    const probValues = await imageProbs.data();
    const K = imageProbs.shape[1];
    const targets = items.map((it) => checkTarget(it.target, probValues.subarray(it.image * K, (it.image + 1) * K), fn));

    // The reference of each image, as rows of the batch (null: zero).
    let reference: tf.Tensor4D | null = null;
    const perImage: (tf.Tensor4D | null)[] = [];
    try {
      for (let n = 0; n < images.shape[0]; n++) {
        const xn = tf.slice(images, n, 1);
        try {
          perImage.push(makeReference(xn, o.reference, { blurSigma: o.blurSigma, seed: o.seed, caller: fn }));
        } finally {
          xn.dispose();
        }
      }
      if (perImage[0] !== null) reference = own(tf.tidy(() => tf.concat(imageIndex.map((n) => perImage[n]!)) as tf.Tensor4D));
    } finally {
      tf.dispose(perImage.filter((r): r is tf.Tensor4D => r !== null));
    }
    if (reference !== null && o.reference instanceof tf.Tensor) {
      const values = await reference.data();
      const i = values.findIndex((v) => !Number.isFinite(v));
      if (i >= 0) throw new FgvisArgumentError(fn, 'options.reference', `must be finite, got ${describe(values[i])} at flat index ${i % (H * W * C)}`);
    }
    const referenceProbs = await readAndDispose(tf.tidy(() => {
      try {
        return scorer.probs(reference ?? tf.zerosLike(x));
      } catch (e) {
        return batchError(e);
      }
    }));
    throwIfAborted(o.signal);

    mask = createMask(batchShape, { parameterization: o.parameterization });
    const m0 = mask;
    const fixedLambda = o.lambda === 'auto' ? 0 : o.lambda;
    /** Write `values` (one row) into item i's rows of the mask; the other rows' parameters stay bit for bit. */
    const assignRow = (i: number, values: tf.Tensor) => {
      if (B === 1) return m0.assign(values);
      tf.tidy(() => {
        const saved = tf.split(m0.param, B);
        m0.assign(tf.concat(saved.map((p, j) => (j === i ? tf.reshape(values, [1, H, W, C]) : m0.valuesOf(p)))));
        const restored = tf.slice(m0.param, i, 1);
        m0.param.assign(tf.concat(saved.map((p, j) => (j === i ? restored : p))));
      });
    };
    for (let i = 0; i < B; i++) {
      const c = targets[i]!;
      const scoreImage = probValues[items[i]!.image * K + c]!;
      const scoreReference = referenceProbs[i * K + c]!;
      const itemProbs = own(tf.slice(imageProbs, items[i]!.image, 1));
      const loss = buildLoss({ game: o.game, classTerm: o.classTerm, target: c, imageProbs: itemProbs });
      const goal = o.lambda === 'auto' ? scoreGoal(o.game, scoreImage, scoreReference, o.autoLambda) : undefined;
      const optimizer = o.optimizer === 'adam' ? adam({ learningRate: o.learningRate }) : sgd({ learningRate: o.learningRate });
      const state: Partial<ItemState> = { target: c, scoreImage, scoreReference, loss, goal, optimizer, history: [], active: true, steps: 0 };
      states.push(state as ItemState);
      state.auto = goal ? new AutoLambda(goal, o.autoLambda) : null;
      state.control = runController({
        game: o.game,
        goal,
        earlyStop: o.earlyStop,
        backoff: o.backoff,
        auto: state.auto,
        optimizer,
        assignMask: (values) => assignRow(i, values),
      });
    }
    if (o.defense) filter = new GradientFilter({ activations: o.activations });

    // The class terms' gradient: the only one that goes through the model (and the filter).
    // `valuesOf` maps the parameter to mask values (the identity for the capture pass below).
    const classGradient = (param: tf.Tensor, valuesOf: (p: tf.Tensor) => tf.Tensor = m0.valuesOf) => {
      let scores: tf.Tensor1D | null = null;
      let terms: tf.Tensor1D | null = null;
      const f = (p: tf.Tensor) => {
        const lp = scorer.logProbs(composeExplanation(valuesOf(p), x, reference) as tf.Tensor4D);
        const rows = states.map((_, i) => row(lp, i, B));
        scores = tf.keep(tf.exp(tf.stack(rows.map((r, i) => selectClass(r, states[i]!.target)))) as tf.Tensor1D);
        const each = rows.map((r, i) => states[i]!.loss.classTerm(r));
        terms = tf.keep(tf.stack(each) as tf.Tensor1D);
        return B === 1 ? each[0]! : tf.addN(each);
      };
      try {
        // In a tidy: tfjs does not free the forward output when the backward pass throws.
        const compute = () => tf.tidy(() => tf.valueAndGrad(f)(param));
        const out = withInputGradientKernels(() => (filter ? filter.run(compute) : compute()));
        out.value.dispose();
        return { grad: out.grad, scores: scores!, terms: terms! };
      } catch (e) {
        tf.dispose([scores as tf.Tensor1D | null, terms as tf.Tensor1D | null].filter((t): t is tf.Tensor1D => t !== null));
        throw gradientError(fn, e);
      }
    };

    // Bounds must come from a pass at e = x exactly: the clipped mask starts at
    // ones, so its first step is that pass; the sigmoid mask (0.999 at the
    // start) needs its own pass, with the mask itself set to ones.
    if (filter && o.parameterization !== 'clip') {
      tf.tidy(() => {
        const { grad, scores, terms } = classGradient(tf.ones(batchShape), (p) => p);
        tf.dispose([grad, scores, terms]);
      });
    }

    // One optimiser per item over its rows; frozen items do not move.
    const batchOptimizer: Optimizer = {
      name: o.optimizer,
      learningRate: o.learningRate,
      reset: () => states.forEach((s) => s.optimizer.reset()),
      update: (grad) => {
        if (B === 1) return states[0]!.optimizer.update(grad);
        // Not in a tidy: each optimiser keeps its new state.
        const rows = tf.split(grad, B);
        const steps: tf.Tensor[] = [];
        try {
          rows.forEach((g, i) => steps.push(states[i]!.active ? states[i]!.optimizer.update(g) : tf.zerosLike(g)));
          return tf.concat(steps);
        } finally {
          tf.dispose([...rows, ...steps]);
        }
      },
      apply(param, grad) {
        applyUpdate(this, param, grad);
      },
      dispose: () => states.forEach((s) => s.optimizer.dispose()),
    };
    const lives: ExplainLive[] = states.map((_, i) => ({
      item: i,
      mask: () => tf.tidy(() => tf.reshape(row(m0.values(), i, B), itemShape)),
    }));
    const key = (k: string, i: number) => `${k}.${i}`;
    const { steps } = await optimize(m0.param, {
      steps: o.steps,
      optimizer: batchOptimizer,
      signal: o.signal,
      readEvery: o.readEvery,
      // Every record is checked as soon as it is read: a non-finite loss or gradient stops the run there.
      onStep: async (r: StepRecord) => {
        for (let i = 0; i < B; i++) {
          const s = states[i]!;
          if (!s.active) continue;
          const rec = { step: r.step } as StepRecord;
          for (const k of RECORD_KEYS) rec[k] = r[key(k, i)]!;
          const bad = ['loss', 'score', 'gradientCheck'].find((k) => !Number.isFinite(rec[k]!));
          if (bad !== undefined) {
            const what = bad === 'gradientCheck' ? 'the gradient of the loss became non-finite (NaN or Infinity)' : `the ${bad} became ${rec[bad]}`;
            throw new FgvisModelError(
              fn,
              `${what} at step ${rec.step}${B > 1 ? ` (explanation ${i} of the batch)` : ''}: the model's output or its gradient overflowed on the explanation; ` +
                'check the model on inputs between the image and the reference, or try a smaller options.learningRate',
            );
          }
          delete (rec as Record<string, number>).gradientCheck;
          s.history.push(rec as ExplainStep);
          s.steps = rec.step;
          await o.onStep?.(rec as ExplainStep, lives[i]!);
        }
      },
      shouldStop: () => {
        for (const s of states) if (s.active && s.control.shouldStop(s.history)) s.active = false;
        return states.every((s) => !s.active);
      },
      computeStep: () => {
        const { grad, scores, terms } = classGradient(m0.param);
        const m = m0.values();
        const sparsity: tf.Scalar[] = [];
        try {
          const out = tf.tidy(() => {
            const lambdas = states.map((s) => (s.auto ? s.auto.lambda : tf.scalar(fixedLambda)));
            const sparsityOf = (p: tf.Tensor) => {
              const values = m0.valuesOf(p);
              const each = states.map((s, i) => s.loss.sparsity(row(values, i, B)));
              sparsity.push(...each.map((t) => tf.keep(t)));
              return B === 1 ? each[0]! : tf.addN(each);
            };
            // The rows are independent: the gradient of the sum is each row's own gradient.
            const { grad: sparsityGrad } = tf.valueAndGrad(sparsityOf)(m0.param);
            const lambda = B === 1 ? lambdas[0]! : tf.reshape(tf.stack(lambdas), [B, 1, 1, 1]);
            const total = tf.add(grad, tf.mul(lambda, sparsityGrad));
            const record: Record<string, tf.Scalar> = {};
            const unstack = (t: tf.Tensor1D) => tf.unstack(t) as tf.Scalar[];
            const [scoreRows, termRows] = [unstack(scores), unstack(terms)];
            states.forEach((_, i) => {
              const mi = row(m, i, B);
              record[key('loss', i)] = tf.keep(tf.add(termRows[i]!, tf.mul(lambdas[i]!, sparsity[i]!)) as tf.Scalar);
              record[key('score', i)] = tf.keep(scoreRows[i]!);
              record[key('l1', i)] = tf.keep(tf.mean(mi) as tf.Scalar);
              record[key('lambda', i)] = tf.keep(tf.clone(lambdas[i]!));
              // 0 when every gradient value is finite, NaN otherwise (read with the record, no extra read).
              record[key('gradientCheck', i)] = tf.keep(tf.sum(tf.mul(row(total, i, B), 0)) as tf.Scalar);
            });
            return { grad: tf.keep(total), record };
          });
          // The iterate, its score and sparsity are those of the mask before this step's update.
          try {
            // Not in a tidy: observe() replaces the state's tensors.
            const scoreRows = tf.unstack(scores) as tf.Scalar[];
            const mRows = B === 1 ? [] : tf.split(m, B);
            try {
              states.forEach((s, i) => {
                if (s.active) s.auto?.observe(B === 1 ? m : mRows[i]!, scoreRows[i]!, sparsity[i]!);
              });
            } finally {
              tf.dispose([...scoreRows, ...mRows]);
            }
          } catch (e) {
            tf.dispose([out.grad, ...Object.values(out.record)]);
            throw e;
          }
          return out;
        } finally {
          tf.dispose([grad, scores, terms, m, ...sparsity]);
        }
      },
      afterUpdate: () => m0.project(),
    });
    for (const s of states) {
      if (s.active) s.steps = steps;
      for (const h of s.history) {
        if (!Number.isFinite(h.loss)) {
          throw new FgvisModelError(fn, `the loss became ${h.loss} at step ${h.step}; try a smaller options.learningRate`);
        }
      }
    }

    // The returned masks: the sparsest iterate that met the goal (auto lambda), else the last one.
    const lambdas: number[] = [];
    const bestFound: boolean[] = [];
    const finalRows: tf.Tensor[] = [];
    try {
      const last = B === 1 ? null : tf.tidy(() => tf.split(m0.values(), B));
      for (let i = 0; i < B; i++) {
        const s = states[i]!;
        const best = s.auto ? await s.auto.bestIterate() : null;
        bestFound.push(best !== null);
        if (best) {
          finalRows.push(best.mask);
          lambdas.push(best.lambda);
          last?.[i]!.dispose();
        } else {
          finalRows.push(last ? last[i]! : m0.values());
          lambdas.push(s.auto ? await s.auto.current() : fixedLambda);
        }
      }
    } catch (e) {
      tf.dispose(finalRows);
      throw e;
    }
    const masks = tf.tidy(() => tf.concat(finalRows.map((t) => tf.reshape(t, [1, H, W, C]))) as tf.Tensor4D);
    tf.dispose(finalRows);
    own(masks);
    const explanations = own(tf.tidy(() => composeExplanation(masks, x, reference) as tf.Tensor4D));
    const scoreExplanation = await readAndDispose(tf.tidy(() => {
      const p = scorer.probs(explanations);
      return tf.stack(states.map((s, i) => selectClass(row(p, i, B), s.target)));
    }));
    const maskMeans = await readAndDispose(tf.tidy(() => tf.mean(tf.reshape(masks, [B, -1]), 1)));
    throwIfAborted(o.signal);

    const filtered = filter?.count ?? 0;
    const results: Explanation[] = [];
    for (let i = 0; i < B; i++) {
      const s = states[i]!;
      const shaped = tf.tidy(() => tf.reshape(row(masks, i, B), itemShape));
      resultTensors.push(shaped);
      const explanation = tf.tidy(() => tf.reshape(row(explanations, i, B), itemShape));
      resultTensors.push(explanation);
      const saliency = tf.tidy(() => {
        const m3 = tf.reshape(shaped, [H, W, C]) as tf.Tensor3D;
        return tf.mean(o.game === 'preservation' ? m3 : tf.sub(1, m3), 2) as tf.Tensor2D;
      });
      resultTensors.push(saliency);
      const warnings: string[] = [];
      if (o.defense && filtered === 0) {
        warnings.push(
          'the defense found no activation kernel to filter (' + o.activations.join(', ') +
            '): the model may compute its nonlinearities with other ops (e.g. maximum(x, 0)); the explanation is undefended',
        );
      }
      if (s.goal && !bestFound[i]) {
        warnings.push(
          `no iterate met the score goal (${s.goal.direction === 'atLeast' ? '>=' : '<='} ${s.goal.score.toFixed(4)}); ` +
            'the last mask is returned: try more steps or a different learningRate',
        );
      }
      results.push(
        withDispose(
          {
            mask: shaped,
            explanation,
            saliency,
            target: s.target,
            game: o.game,
            lambda: lambdas[i]!,
            steps: s.steps,
            backoffs: s.control.backoffs,
            scores: { image: s.scoreImage, explanation: scoreExplanation[i]!, reference: s.scoreReference },
            maskMean: maskMeans[i]!,
            filtered,
            goal: s.goal,
            history: s.history,
            warnings,
          },
          [shaped, explanation, saliency],
        ),
      );
    }
    resultTensors = [];
    return results;
  } finally {
    tf.dispose(resultTensors);
    tf.dispose(owned);
    mask?.dispose();
    filter?.dispose();
    for (const s of states) {
      s.auto?.dispose();
      s.optimizer.dispose();
    }
  }
}
