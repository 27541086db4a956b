/**
 * `fgvis explain`: load a model and a photo, run `explain()`, write the
 * figure (and the numbers as JSON).
 *
 * @packageDocumentation
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Explanation } from '../core/explain';
import type { Game } from '../core/loss';
import type { Reference } from '../util/reference';
import { imagePreprocessor } from '../model/registry';
import { BUILTIN_MODELS, type BuiltinModel } from '../node/builtin-models';
import { modelJSONPath } from '../node/file-io-handler';
import { loadModelFromDisk, type LoadedModel } from '../node/load-model';
import { FgvisImageError, FgvisModelFileError } from '../node/errors';
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
  type CliReference,
  type CropRect,
  type RangeName,
  type TargetSpec,
} from './args';
import { ensureGradients, tfjsRequirements, useBackend } from './backend';
import { CliError, EXIT, plainMessage } from './errors';
import { describeExplanation, explainInput, prepareInput } from './explain-image';
import { formatScore } from './figure';
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
  /** As given on the command line (`model` is resolved by {@link cliReference}). */
  reference: CliReference;
  range?: RangeName;
  size?: { width: number; height: number };
  labels?: string;
  /** `--max-pixels`: images over this many pixels are refused from their header. */
  maxPixels: number;
  /** `--allow-outside-weights`: load weight files listed outside the model's folder. */
  allowOutsideWeights?: boolean;
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
  /** What removed pixels became: a reference name, or a colour in the model's input space. */
  reference: Exclude<Reference, tf.Tensor>;
  /** Whether the defense (gradient filter) was on. */
  defense: boolean;
  /** Layer outputs the defense gated (0 with the defense off). */
  gatedOutputs: number;
  /** @deprecated The same number as `gatedOutputs`, under its old name; will be removed. */
  filtered: number;
  /** Mean of the mask (fraction of the input kept). */
  maskMean: number;
  /** Messages from explain() (e.g. the score goal was not met). */
  warnings: string[];
  /** The figure's path (as given with --out, or the default name; relative to the working folder). */
  figure: string;
}

/** A model ready to explain, with everything the CLI needs to know about it. */
export interface PreparedModel {
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

/** Preprocessing for a model.json model: resize to its input size, its channel count, value range `range`. */
function genericPreprocess(
  model: LoadedModel,
  o: Pick<ExplainCommandOptions, 'size' | 'maxPixels' | 'model'>,
  range: readonly [number, number],
): (image: RGBAImage) => tf.Tensor4D {
  const shape = (model.inputs[0]?.shape ?? []) as (number | null)[];
  const dim = (v: number | null | undefined) => (typeof v === 'number' && v > 0 ? v : undefined);
  const height = o.size?.height ?? dim(shape[1]);
  const width = o.size?.width ?? dim(shape[2]);
  if (height === undefined || width === undefined) {
    throw new CliError(`the model's input size is not fixed (input shape [${shape.join(',')}]); pass --size WxH`, EXIT.USAGE);
  }
  if (height * width > o.maxPixels) {
    const what = o.size ? `--size ${width}x${height}` : `the model ${o.model} declares an input of ${width}x${height} pixels, which`;
    throw new CliError(`${what} is over the --max-pixels limit (${o.maxPixels} pixels)`, o.size ? EXIT.USAGE : EXIT.MODEL);
  }
  const channels = dim(shape[3]) ?? 3;
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new CliError(`the model takes ${channels} channels; fgvis explain handles 1 (grey), 3 (RGB) or 4 (RGBA)`, EXIT.MODEL);
  }
  return imagePreprocessor({ height, width, channels, range });
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

/** The options that say which model and how to feed it. */
export type ModelOptions = Pick<ExplainCommandOptions, 'model' | 'range' | 'size' | 'labels' | 'allowOutsideWeights' | 'maxPixels'>;

/**
 * The reference to pass to `explain()`: `--reference model` is the built-in
 * model's normalised zero (a model.json model must be given a colour instead).
 */
export function cliReference(reference: CliReference, where: ReturnType<typeof locateModel>): Exclude<Reference, tf.Tensor> {
  if (reference !== 'model') return reference;
  if ('builtin' in where) return [...where.builtin.normalizedZero];
  throw new CliError("--reference model needs a built-in model; for a model.json model give the colour its normalisation maps to zero, e.g. --reference 0.5", EXIT.USAGE);
}

/** Find the model: a built-in name, or a model.json (or its folder). Loads nothing. */
export function locateModel(o: ModelOptions, io: Pick<CliIO, 'cwd' | 'models'>): { builtin: BuiltinModel } | { file: string } {
  const models = io.models ?? BUILTIN_MODELS;
  const builtin = models.find((m) => m.name === o.model);
  if (builtin) {
    for (const [flag, v] of [['--range', o.range], ['--size', o.size], ['--labels', o.labels], ['--allow-outside-weights', o.allowOutsideWeights]] as const) {
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

/** Load the model {@link locateModel} found; the caller disposes `model`. */
export async function prepareModel(
  where: { builtin: BuiltinModel } | { file: string },
  o: ModelOptions,
  io: Pick<CliIO, 'cwd'>,
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
    return { model, name: b.name, classes: b.classes, preprocess: (im) => b.preprocess(im), range: b.range };
  }
  const classes = o.labels === undefined ? undefined : await readLabels(resolve(io.cwd, o.labels));
  let model: LoadedModel;
  try {
    model = await loadModelFromDisk(where.file, { allowWeightsOutsideFolder: o.allowOutsideWeights === true });
  } catch (e) {
    if (e instanceof MissingPackageError || e instanceof CliError) throw e;
    if (e instanceof FgvisModelFileError) {
      const reason = e.reason.replace('pass allowWeightsOutsideFolder: true', 'pass --allow-outside-weights');
      throw new CliError(`the model ${o.model} cannot be loaded: it ${reason}`, EXIT.MODEL, { cause: e });
    }
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

/** Read the image file `o.image` and apply `o.crop`; every failure is a {@link CliError} (exit 3, 4 or 2). */
export async function loadImage(o: Pick<ExplainCommandOptions, 'image' | 'crop' | 'maxPixels'>, io: Pick<CliIO, 'cwd'>): Promise<RGBAImage> {
  const path = resolve(io.cwd, o.image);
  if (!existsSync(path)) throw new CliError(`image file not found: ${o.image}`, EXIT.NOT_FOUND);
  if (!isFile(path)) throw new CliError(`image ${o.image} is not a file`, EXIT.NOT_FOUND);
  let image: RGBAImage;
  try {
    image = await readImage(path, { maxPixels: o.maxPixels });
  } catch (e) {
    if (!(e instanceof FgvisImageError)) throw e;
    const reason = e.reason.replace(/\(options\.maxPixels: (\d+)\)/, '(--max-pixels $1)');
    const code = e.code === 'not-found' || e.code === 'not-a-file' ? EXIT.NOT_FOUND : EXIT.BAD_IMAGE;
    throw new CliError(`image ${o.image} ${reason}`, code, { cause: e });
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
  const reference = cliReference(o.reference, where);
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
    const input = await prepareInput(prepared, image);
    x = input.x;
    log(io, v, `input [${x.shape.join(',')}], value range [${input.range.join(', ')}], target ${resolved.target}`);

    progress = createProgress(io.stderr, o.steps, 'explain');
    let seconds: number;
    try {
      ({ result, seconds } = await explainInput(prepared, x, resolved.target, { ...o, reference }, { signal: io.signal, onStep: progress.onStep }));
    } finally {
      progress.stop();
    }
    const r = result;
    const { classLabel, fields, figure } = describeExplanation(prepared, x, input.range, r, seconds, o.image, { ...o, reference });
    const gatedText = `${r.gatedOutputs} layer output${r.gatedOutputs === 1 ? '' : 's'} gated by the defense`;
    for (const w of r.warnings) io.stderr.write(`fgvis: warning: ${w}\n`);
    await writeOutput(outPath, encodePNG(await figure()), 'figure');

    const report: ExplainReport = { fgvis: version, model: o.model, image: o.image, ...fields, figure: outName };
    const jsonText = `${JSON.stringify(report, null, 2)}\n`;
    if (o.json === '-') io.stdout.write(jsonText);
    else if (o.json !== undefined) await writeOutput(resolve(io.cwd, o.json), jsonText, 'JSON report');

    if (o.json !== '-') {
      const s = r.scores;
      io.stdout.write(
        [
          `${prepared.name}: ${classLabel}, ${r.game}`,
          `  score: image ${formatScore(s.image)}, explanation ${formatScore(s.explanation)}, reference ${formatScore(s.reference)}`,
          `  mask mean ${r.maskMean.toFixed(3)}, lambda ${r.lambda.toPrecision(3)}, ${r.steps} steps, ${seconds.toFixed(1)} s on ${report.backend}, ${gatedText}`,
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
