/**
 * `fgvis explain`: load a model and a photo, run `explain()`, write the
 * figure (and the numbers as JSON).
 *
 * @packageDocumentation
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { explain, type Explanation } from '../core/explain';
import type { Game } from '../core/loss';
import type { Reference } from '../util/reference';
import { BUILTIN_MODELS, type BuiltinModel } from '../node/builtin-models';
import { modelJSONPath } from '../node/file-io-handler';
import { loadModelFromDisk, type LoadedModel } from '../node/load-model';
import { readImage } from '../node/read-image';
import { MissingPackageError } from '../node/resolve-package';
import { encodePNG } from '../node/write-png';
import { crop as cropImage, type RGBAImage } from '../render';
import {
  RANGES,
  parseLabels,
  resolveTarget,
  stem,
  type BackendName,
  type CropRect,
  type RangeName,
  type TargetSpec,
} from './args';
import { ensureGradients, tfjsRequirements, useBackend } from './backend';
import { CliError, EXIT, plainMessage } from './errors';
import { explanationFigure, formatScore } from './figure';
import type { CliIO } from './io';
import { preflightOutputs, preflightPackages, specOf } from './preflight';
import { createProgress, type Progress } from './progress';

/** The options of `fgvis explain`, as parsed by commander. */
export interface ExplainCommandOptions {
  model: string;
  image: string;
  target: TargetSpec;
  game: Game;
  steps: number;
  backend: BackendName;
  out?: string;
  json?: string;
  crop?: CropRect;
  seed?: number;
  lambda: number | 'auto';
  reference: Exclude<Reference, tf.Tensor>;
  range?: RangeName;
  size?: { width: number; height: number };
  labels?: string;
  defense: boolean;
  verbose?: boolean;
}

/** The fields of the `--json` file (documented in the README). */
export interface ExplainReport {
  /** fgvis version. */
  fgvis: string;
  /** The `--model` argument: a built-in name or a model.json path. */
  model: string;
  /** The `--image` argument. */
  image: string;
  /** The crop rectangle `[x, y, w, h]` applied before preprocessing, or null. */
  crop: [number, number, number, number] | null;
  /** The model input shape `[1, H, W, C]`. */
  inputShape: number[];
  /** tfjs backend. */
  backend: string;
  /** The explained class. */
  target: { index: number; name: string };
  game: Game;
  /** The target's softmax score on the image, on the explanation and on the reference (everything removed). */
  scores: { image: number; explanation: number; reference: number };
  /** The sparsity weight the returned mask was found with. */
  lambda: number;
  /** Optimisation steps run (early stopping usually ends before `maxSteps`). */
  steps: number;
  maxSteps: number;
  /** Wall-clock seconds of the explanation (model loading excluded). */
  seconds: number;
  /** Whether the defense (gradient filter) was on. */
  defense: boolean;
  /** Activation outputs the defense filtered (gated). */
  filtered: number;
  /** Mean of the mask (fraction of the input kept). */
  maskMean: number;
  /** Messages from explain() (e.g. the score goal was not met). */
  warnings: string[];
  /** The figure's path (as given with --out, or the default name; relative to the working folder). */
  figure: string;
}

/** The value range of each built-in model's input (for display). */
const BUILTIN_RANGES: Record<string, readonly [number, number]> = {
  'nsfw-mobilenet-v2-graph': [0, 1],
  'nsfw-mobilenet-v2': [0, 1],
  emotion: [-1, 1],
};

/** A model ready to explain, with everything the CLI needs to know about it. */
interface PreparedModel {
  model: LoadedModel;
  /** Display name. */
  name: string;
  classes: readonly string[] | undefined;
  preprocess(image: RGBAImage): tf.Tensor4D;
  /** The input value range [min, max]; `undefined`: infer from the input. */
  range: readonly [number, number] | undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function log(io: CliIO, verbose: boolean | undefined, line: string): void {
  if (verbose) io.stderr.write(`fgvis: ${line}\n`);
}

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

/** Preprocessing for a model.json model: resize to its input size, its channel count, value range `range`. */
function genericPreprocess(
  model: LoadedModel,
  o: ExplainCommandOptions,
  range: readonly [number, number],
): (image: RGBAImage) => tf.Tensor4D {
  const shape = (model.inputs[0]?.shape ?? []) as (number | null)[];
  const dim = (v: number | null | undefined) => (typeof v === 'number' && v > 0 ? v : undefined);
  const height = o.size?.height ?? dim(shape[1]);
  const width = o.size?.width ?? dim(shape[2]);
  if (height === undefined || width === undefined) {
    throw new CliError(`the model's input size is not fixed (input shape [${shape.join(',')}]); pass --size WxH`, EXIT.USAGE);
  }
  const channels = dim(shape[3]) ?? 3;
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new CliError(`the model takes ${channels} channels; fgvis explain handles 1 (grey), 3 (RGB) or 4 (RGBA)`, EXIT.MODEL);
  }
  const [lo, hi] = range;
  return (image) =>
    tf.tidy(() => {
      const rgba = tf.tensor4d(Float32Array.from(image.data), [1, image.height, image.width, 4]);
      let x: tf.Tensor4D;
      if (channels === 4) x = rgba;
      else {
        const rgb = tf.slice(rgba, [0, 0, 0, 0], [1, image.height, image.width, 3]);
        x = channels === 3 ? rgb : (tf.sum(tf.mul(rgb, tf.tensor1d([0.2989, 0.587, 0.114])), 3, true) as tf.Tensor4D);
      }
      if (image.height !== height || image.width !== width) x = tf.image.resizeBilinear(x, [height, width]);
      return tf.add(tf.mul(x, (hi - lo) / 255), lo) as tf.Tensor4D;
    });
}

async function readLabels(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(
      code === 'ENOENT' ? `labels file not found: ${path}` : `labels file ${path} cannot be read: ${(e as Error).message}`,
      code === 'ENOENT' ? EXIT.NOT_FOUND : EXIT.USAGE,
    );
  }
  try {
    return parseLabels(text);
  } catch (e) {
    throw new CliError(`labels file ${path} ${(e as Error).message}`, EXIT.USAGE);
  }
}

/** Find the model: a built-in name, or a model.json (or its folder). Loads nothing. */
function locateModel(o: ExplainCommandOptions, io: CliIO): { builtin: BuiltinModel } | { file: string } {
  const models = io.models ?? BUILTIN_MODELS;
  const builtin = models.find((m) => m.name === o.model);
  if (builtin) {
    for (const [flag, v] of [['--range', o.range], ['--size', o.size], ['--labels', o.labels]] as const) {
      if (v !== undefined) throw new CliError(`${flag} applies to model.json models only; ${builtin.name} brings its own preprocessing and class names`, EXIT.USAGE);
    }
    return { builtin };
  }
  const file = modelJSONPath(resolve(io.cwd, o.model));
  if (!isFile(file)) {
    const what = /[\\/]|\.json$/i.test(o.model) ? `model file not found: ${o.model}` : `unknown model "${o.model}"`;
    throw new CliError(`${what} (give a model.json path or a built-in model: ${models.map((m) => m.name).join(', ')})`, EXIT.NOT_FOUND);
  }
  return { file };
}

async function prepareModel(
  where: { builtin: BuiltinModel } | { file: string },
  o: ExplainCommandOptions,
  io: CliIO,
): Promise<PreparedModel> {
  if ('builtin' in where) {
    const b = where.builtin;
    let model: LoadedModel;
    try {
      model = await b.load();
    } catch (e) {
      if (e instanceof MissingPackageError || e instanceof CliError) throw e;
      throw new CliError(`the built-in model ${b.name} cannot be loaded: ${plainMessage(e)}`, EXIT.MODEL, { cause: e });
    }
    return { model, name: b.name, classes: b.classes, preprocess: (im) => b.preprocess(im), range: BUILTIN_RANGES[b.name] };
  }
  const classes = o.labels === undefined ? undefined : await readLabels(resolve(io.cwd, o.labels));
  let model: LoadedModel;
  try {
    model = await loadModelFromDisk(where.file);
  } catch (e) {
    if (e instanceof MissingPackageError || e instanceof CliError) throw e;
    const msg = plainMessage(e);
    if (/needs @tensorflow\/tfjs-layers; run:/.test(msg)) throw new CliError(msg, EXIT.MISSING_PACKAGE, { cause: e });
    throw new CliError(`the model ${o.model} cannot be loaded: ${msg}`, EXIT.MODEL, { cause: e });
  }
  const range = RANGES[o.range ?? '0,1'];
  try {
    return { model, name: o.model, classes, preprocess: genericPreprocess(model, o, range), range };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

async function loadImage(o: ExplainCommandOptions, io: CliIO): Promise<RGBAImage> {
  const path = resolve(io.cwd, o.image);
  if (!existsSync(path)) throw new CliError(`image file not found: ${o.image}`, EXIT.NOT_FOUND);
  if (!isFile(path)) throw new CliError(`image ${o.image} is not a file`, EXIT.NOT_FOUND);
  let image: RGBAImage;
  try {
    image = await readImage(path);
  } catch (e) {
    throw new CliError(`image ${o.image} cannot be read: ${plainMessage(e).replace(/^image file "[^"]*" /, '')}`, EXIT.BAD_IMAGE, { cause: e });
  }
  if (o.crop) {
    const c = o.crop;
    if (c.x + c.width > image.width || c.y + c.height > image.height) {
      throw new CliError(
        `--crop ${c.x},${c.y},${c.width},${c.height} does not fit in the ${image.width}x${image.height} image ${o.image}`,
        EXIT.USAGE,
      );
    }
    image = cropImage(image, c.x, c.y, c.width, c.height);
  }
  return image;
}

async function writeOutput(path: string, data: string | Uint8Array, what: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  } catch (e) {
    throw new CliError(`cannot write the ${what} to ${path}: ${(e as Error).message}`, EXIT.WRITE, { cause: e });
  }
}

/** Run `fgvis explain`; returns the report (also written with `--json`). */
export async function explainCommand(o: ExplainCommandOptions, io: CliIO, version: string): Promise<ExplainReport> {
  const v = o.verbose;
  // Cheap checks first: a typo should not wait for a backend or a model.
  const where = locateModel(o, io);
  const image = await loadImage(o, io);
  const outName = o.out ?? `fgvis-${stem(o.image)}.png`;
  const outPath = resolve(io.cwd, outName);
  // Before any work: the outputs can be written, and every package is there (all named in one line).
  preflightOutputs(io.cwd, [
    { flag: '--out', what: 'the figure', path: outName },
    { flag: '--json', what: 'the JSON report', path: o.json },
  ]);
  preflightPackages(
    [
      ...tfjsRequirements(o.backend, 'builtin' in where && where.builtin.kind === 'layers'),
      ...('builtin' in where
        ? [{ name: where.builtin.package, spec: specOf(where.builtin.package, where.builtin.install), why: `the ${where.builtin.name} model` }]
        : []),
    ],
    io.installed,
  );

  let t = performance.now();
  await useBackend(o.backend);
  await ensureGradients();
  log(io, v, `backend ${tf.getBackend()} ready in ${((performance.now() - t) / 1000).toFixed(2)} s`);

  t = performance.now();
  const prepared = await prepareModel(where, o, io);
  let x: tf.Tensor4D | null = null;
  let result: Explanation | null = null;
  let progress: Progress | null = null;
  try {
    log(io, v, `model ${prepared.name} loaded in ${((performance.now() - t) / 1000).toFixed(2)} s`);
    const resolved = resolveTarget(o.target, prepared.classes, prepared.name);
    if ('error' in resolved) throw new CliError(resolved.error, EXIT.BAD_TARGET);
    x = prepared.preprocess(image);
    const range = prepared.range ?? (await inferRange(x));
    log(io, v, `input [${x.shape.join(',')}], value range [${range.join(', ')}], target ${resolved.target}`);

    progress = createProgress(io.stderr, o.steps, 'explain');
    t = performance.now();
    try {
      result = await explain(prepared.model, x, resolved.target, {
        game: o.game,
        steps: o.steps,
        lambda: o.lambda,
        reference: o.reference,
        defense: o.defense,
        seed: o.seed,
        signal: io.signal,
        onStep: progress.onStep,
      });
    } catch (e) {
      const msg = plainMessage(e);
      if (/^target /.test(msg) && !(e instanceof CliError)) {
        throw new CliError(`target is not a class of ${prepared.name}: ${msg.replace(/^target /, '')}`, EXIT.BAD_TARGET, { cause: e });
      }
      throw e;
    } finally {
      progress.stop();
    }
    const seconds = (performance.now() - t) / 1000;
    const r = result;
    const named = prepared.classes?.[r.target];
    const className = named ?? `class ${r.target}`;
    const classLabel = named === undefined ? className : `${named} (class ${r.target})`;
    const filteredText = `${r.filtered} layer output${r.filtered === 1 ? '' : 's'} gated by the defense`;
    for (const w of r.warnings) io.stderr.write(`fgvis: warning: ${w}\n`);

    const title =
      `${prepared.name}: ${classLabel}, ${r.game}\n` +
      `${basename(o.image)}${o.crop ? ` [${o.crop.x},${o.crop.y},${o.crop.width},${o.crop.height}]` : ''}` +
      ` | lambda ${r.lambda.toPrecision(3)} | ${r.steps} steps | ${seconds.toFixed(1)} s ${tf.getBackend()} | defense ${o.defense ? 'on' : 'off'}`;
    const figure = await explanationFigure({
      input: x,
      explanation: r.explanation,
      saliency: r.saliency,
      range,
      title,
      className,
      scores: r.scores,
      maskMean: r.maskMean,
      game: r.game,
    });
    await writeOutput(outPath, encodePNG(figure), 'figure');

    const report: ExplainReport = {
      fgvis: version,
      model: o.model,
      image: o.image,
      crop: o.crop ? [o.crop.x, o.crop.y, o.crop.width, o.crop.height] : null,
      inputShape: x.shape.slice(),
      backend: tf.getBackend(),
      target: { index: r.target, name: className },
      game: r.game,
      scores: { ...r.scores },
      lambda: r.lambda,
      steps: r.steps,
      maxSteps: o.steps,
      seconds: Math.round(seconds * 1000) / 1000,
      defense: o.defense,
      filtered: r.filtered,
      maskMean: r.maskMean,
      warnings: [...r.warnings],
      figure: outName,
    };
    const jsonText = `${JSON.stringify(report, null, 2)}\n`;
    if (o.json === '-') io.stdout.write(jsonText);
    else if (o.json !== undefined) await writeOutput(resolve(io.cwd, o.json), jsonText, 'JSON report');

    if (o.json !== '-') {
      const s = r.scores;
      io.stdout.write(
        [
          `${prepared.name}: ${classLabel}, ${r.game}`,
          `  score: image ${formatScore(s.image)}, explanation ${formatScore(s.explanation)}, reference ${formatScore(s.reference)}`,
          `  mask mean ${r.maskMean.toFixed(3)}, lambda ${r.lambda.toPrecision(3)}, ${r.steps} steps, ${seconds.toFixed(1)} s on ${report.backend}, ${filteredText}`,
          `  wrote ${outName}${o.json !== undefined ? ` and ${o.json}` : ''}`,
        ].join('\n') + '\n',
      );
    }
    return report;
  } finally {
    progress?.stop();
    result?.dispose();
    x?.dispose();
    prepared.model.dispose();
  }
}
