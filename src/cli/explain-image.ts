/**
 * One image through a prepared model, as `fgvis explain` does it: the model
 * input and its value range, the `explain()` call, and what is reported
 * about the result (the `--json` fields, the figure). Shared by the
 * single-image command (`--image`) and the dataset workers (`--images`), so
 * both produce the same numbers and the same figure for the same image.
 *
 * @packageDocumentation
 */
import type { Reference } from '../util/reference';
import { basename } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { explain, type Explanation } from '../core/explain';
import type { ExplainStep } from '../core/options';
import type { RGBAImage } from '../render';
import { CliError, EXIT, plainMessage } from './errors';
import type { ExplainCommandOptions, ExplainReport, PreparedModel } from './explain-command';
import { explanationFigure } from './figure';

/** The options of `fgvis explain` that shape one explanation (not where it comes from or goes to). */
export type ExplainSettings = Pick<ExplainCommandOptions, 'game' | 'steps' | 'lambda' | 'defense' | 'seed' | 'crop'> & {
  /** The reference, resolved (`--reference model` made a colour: `cliReference`). */
  reference: Exclude<Reference, tf.Tensor>;
};

/** The `explain()` options the settings give (the same for one image and for a folder). */
export function explainOptionsOf(o: ExplainSettings) {
  return { game: o.game, steps: o.steps, lambda: o.lambda, reference: o.reference, defense: o.defense, seed: o.seed };
}

/** The `--json` fields that describe the explanation itself (everything but `fgvis`, `model`, `image` and `figure`). */
export type ReportFields = Omit<ExplainReport, 'fgvis' | 'model' | 'image' | 'figure'>;

/** The input range of a value set: [0,1], [-1,1] or [0,255] when the values fit, else their own min and max. */
async function inferRange(x: tf.Tensor): Promise<readonly [number, number]> {
  const [lo, hi] = tf.tidy(() => [tf.min(x), tf.max(x)]);
  const [a, b] = [(await lo!.data())[0]!, (await hi!.data())[0]!];
  tf.dispose([lo!, hi!]);
  if (a >= 0 && b <= 1) return [0, 1];
  if (a >= -1 && b <= 1) return [-1, 1];
  if (a >= 0 && b <= 255) return [0, 255];
  return [a, b];
}

/** The model input of `image` (a new tensor the caller disposes) and its value range (the model's, else inferred). */
export async function prepareInput(prepared: PreparedModel, image: RGBAImage): Promise<{ x: tf.Tensor4D; range: readonly [number, number] }> {
  const x = prepared.preprocess(image);
  try {
    return { x, range: prepared.range ?? (await inferRange(x)) };
  } catch (e) {
    x.dispose();
    throw e;
  }
}

/**
 * `explain()` with the command line's settings; a target that turns out not
 * to be a class of the model becomes a {@link CliError} with exit code 5.
 * Returns the result (the caller disposes it) and the seconds it took.
 */
export async function explainInput(
  prepared: PreparedModel,
  x: tf.Tensor4D,
  target: number | 'top',
  o: ExplainSettings,
  hooks: { signal?: AbortSignal; onStep?: (s: ExplainStep) => void } = {},
): Promise<{ result: Explanation; seconds: number }> {
  const t = performance.now();
  try {
    const result = await explain(prepared.model, x, target, { ...explainOptionsOf(o), signal: hooks.signal, onStep: hooks.onStep });
    return { result, seconds: (performance.now() - t) / 1000 };
  } catch (e) {
    const msg = plainMessage(e);
    if (/^target /.test(msg) && !(e instanceof CliError)) {
      throw new CliError(`target is not a class of ${prepared.name}: ${msg.replace(/^target /, '')}`, EXIT.BAD_TARGET, { cause: e });
    }
    throw e;
  }
}

/** What is said about one explanation: the class, the `--json` fields, and the figure (rendered on demand). */
export interface ExplanationDescription {
  /** The class name, or `class <index>` when the model has no names. */
  className: string;
  /** `name (class i)`, or `class i`. */
  classLabel: string;
  fields: ReportFields;
  /** The four-panel figure with its title (reads the tensors; disposes nothing). */
  figure(): Promise<RGBAImage>;
}

/**
 * Describe `result`, the explanation of `x` (the model input of the image
 * file `imagePath`), computed in `seconds`. `timeInTitle: false` leaves the
 * seconds out of the figure's title, so that the same explanation always
 * gives the same figure bytes (the dataset mode).
 */
export function describeExplanation(
  prepared: PreparedModel,
  x: tf.Tensor4D,
  range: readonly [number, number],
  r: Explanation,
  seconds: number,
  imagePath: string,
  o: ExplainSettings,
  timeInTitle = true,
): ExplanationDescription {
  const named = prepared.classes?.[r.target];
  const className = named ?? `class ${r.target}`;
  const classLabel = named === undefined ? className : `${named} (class ${r.target})`;
  const backend = tf.getBackend();
  const fields: ReportFields = {
    crop: o.crop ? [o.crop.x, o.crop.y, o.crop.width, o.crop.height] : null,
    inputShape: x.shape.slice(),
    backend,
    target: { index: r.target, name: className },
    game: r.game,
    scores: { ...r.scores },
    lambda: r.lambda,
    steps: r.steps,
    maxSteps: o.steps,
    seconds: Math.round(seconds * 1000) / 1000,
    reference: o.reference,
    defense: o.defense,
    gatedOutputs: r.gatedOutputs,
    filtered: r.gatedOutputs,
    maskMean: r.maskMean,
    warnings: [...r.warnings],
  };
  const title =
    `${prepared.name}: ${classLabel}, ${r.game}\n` +
    `${basename(imagePath)}${o.crop ? ` [${o.crop.x},${o.crop.y},${o.crop.width},${o.crop.height}]` : ''}` +
    ` | lambda ${r.lambda.toPrecision(3)} | ${r.steps} steps | ${timeInTitle ? `${seconds.toFixed(1)} s ` : ''}${backend} | defense ${o.defense ? 'on' : 'off'}`;
  const figure = () =>
    explanationFigure({
      input: x,
      explanation: r.explanation,
      evidence: r.evidence,
      saliency: r.saliency,
      range,
      title,
      className,
      scores: r.scores,
      maskMean: r.maskMean,
      game: r.game,
    });
  return { className, classLabel, fields, figure };
}
