/**
 * `explainMany`: explanations of many image files by a pool of worker
 * threads, each with its own tfjs, backend and model, as an async iterator of
 * results in completion order. `explainFiles` collects them with timings
 * (for benchmarks).
 *
 * @packageDocumentation
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { BackendName, RangeName, TargetSpec } from '../../cli/args';
import type { ExplainSettings } from '../../cli/explain-image';
import { EXPLAIN_DEFAULTS } from '../../core/options';
import type { Game } from '../../core/loss';
import { abortError, checkOptionNames, describe, FgvisArgumentError } from '../../util/errors';
import { finiteNumber, oneOf, positiveInteger } from '../../util/validate';
import { checkReference, type Reference } from '../../util/reference';
import { IMAGE_DEFAULTS } from '../read-image';
import type * as tf from '@tensorflow/tfjs-core';
import { ExplainPool } from './pool';
import type { ExplainManyError, ManyResult, WorkerInit, WorkerModel } from './protocol';
import { explainWorkerURL } from './worker-script';

/**
 * The model, described so that each worker can load it (a model object cannot
 * cross threads): a built-in model name (`'emotion'`; see `BUILTIN_MODELS`),
 * a path to a model.json (or its folder), or a model.json with how to feed it.
 */
export type ManyModel = string | ModelFile;

/** A model.json model and how to feed it (as `fgvis explain --model path --range --size --labels`). */
export interface ModelFile {
  /** Path to the model.json (or its folder). */
  path: string;
  /** The value range images are scaled to: `'0,1'` (default), `'-1,1'` or `'0,255'`. */
  range?: RangeName;
  /** The input size, when the model's is not fixed. */
  size?: { width: number; height: number };
  /** Class names in output order. */
  classes?: readonly string[];
  /** Or a labels file: one class name per line, or a JSON array. */
  labels?: string;
  /** Allow weight files outside the model's folder (see `loadModelFromDisk`); default false. */
  allowWeightsOutsideFolder?: boolean;
}

/** Options of {@link explainMany}. */
export interface ExplainManyOptions {
  /** Worker threads; default the number of available cores (never more than there are images). */
  workers?: number;
  /** The tfjs backend of every worker: `'wasm'` (default) or `'cpu'`. */
  backend?: BackendName;
  /** The class to explain: `'top'` (default, the predicted class), an index, or a class name. */
  target?: number | string;
  /** `'preservation'` (default) or `'deletion'`. */
  game?: Game;
  /** Maximum optimisation steps; default `EXPLAIN_DEFAULTS.steps`. */
  steps?: number;
  /** Sparsity weight, or `'auto'` (default). */
  lambda?: number | 'auto';
  /** What removed values become (see `Reference`; not a tensor); default `EXPLAIN_DEFAULTS.reference`. */
  reference?: Exclude<Reference, tf.Tensor>;
  /** The defense against adversarial evidence; default true. */
  defense?: boolean;
  /** Seed for anything random (the noise reference). */
  seed?: number;
  /** Images over this many pixels are refused (see `readImage`); default `IMAGE_DEFAULTS.maxPixels`. */
  maxPixels?: number;
  /** Cut this rectangle (pixels) out of every image first. */
  crop?: { x: number; y: number; width: number; height: number };
  /** Also render the figure `fgvis explain` draws, as PNG bytes (`result.figure`); default false. */
  figure?: boolean;
  /** Relative image, model and labels paths are resolved against this folder; default `process.cwd()`. */
  cwd?: string;
  /** Stops the run: the iterator throws the signal's reason and the workers are terminated. */
  signal?: AbortSignal;
}

/** One image's outcome: its `result`, or the `error` that kept it from one (unreadable file, ...). */
export type ExplainManyItem =
  | { index: number; image: string; result: ManyResult; error?: undefined }
  | { index: number; image: string; result?: undefined; error: ExplainManyError };

/** The value ranges of `ModelFile.range` (the CLI's `--range`). */
const RANGE_NAMES: readonly RangeName[] = ['0,1', '-1,1', '0,255'];

const OPTION_NAMES = [
  'workers', 'backend', 'target', 'game', 'steps', 'lambda', 'reference', 'defense', 'seed', 'maxPixels', 'crop', 'figure', 'cwd', 'signal',
] as const;

function checkModel(fn: string, model: unknown): WorkerModel {
  if (typeof model === 'string' && model !== '') return { model };
  const m = model as ModelFile;
  if (m === null || typeof m !== 'object' || typeof m.path !== 'string' || m.path === '') {
    throw new FgvisArgumentError(fn, 'model', `must be a built-in model name, a model.json path or { path, range?, size?, classes?, labels? }, got ${describe(model)}`);
  }
  checkOptionNames(fn, m, ['path', 'range', 'size', 'classes', 'labels', 'allowWeightsOutsideFolder'], 'model');
  if (m.allowWeightsOutsideFolder !== undefined && typeof m.allowWeightsOutsideFolder !== 'boolean') {
    throw new FgvisArgumentError(fn, 'model.allowWeightsOutsideFolder', `must be a boolean, got ${describe(m.allowWeightsOutsideFolder)}`);
  }
  if (m.range !== undefined && !RANGE_NAMES.includes(m.range)) {
    throw new FgvisArgumentError(fn, 'model.range', `must be one of ${RANGE_NAMES.map((r) => `'${r}'`).join(', ')}, got ${describe(m.range)}`);
  }
  const dim = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  if (m.size !== undefined && !(dim(m.size?.width) && dim(m.size?.height))) {
    throw new FgvisArgumentError(fn, 'model.size', `must be { width, height } in pixels (positive integers), got ${describe(m.size)}`);
  }
  if (m.labels !== undefined && (typeof m.labels !== 'string' || m.labels === '')) {
    throw new FgvisArgumentError(fn, 'model.labels', `must be a file path, got ${describe(m.labels)}`);
  }
  if (m.classes !== undefined && (!Array.isArray(m.classes) || !m.classes.every((c) => typeof c === 'string'))) {
    throw new FgvisArgumentError(fn, 'model.classes', `must be an array of class names, got ${describe(m.classes)}`);
  }
  return {
    model: m.path, range: m.range, size: m.size && { width: m.size.width, height: m.size.height }, classes: m.classes && [...m.classes], labels: m.labels,
    allowOutsideWeights: m.allowWeightsOutsideFolder,
  };
}

function checkTarget(fn: string, target: unknown): TargetSpec {
  if (target === undefined || target === 'top') return { kind: 'top' };
  if (typeof target === 'number' && Number.isInteger(target) && target >= 0) return { kind: 'index', index: target };
  if (typeof target === 'string' && target.trim() !== '') return { kind: 'name', name: target.trim() };
  throw new FgvisArgumentError(fn, 'options.target', `must be 'top', a class index or a class name, got ${describe(target)}`);
}

/** A reference a worker can rebuild: a name or a colour (a tensor cannot cross threads). */
function plainReference(fn: string, value: unknown): Exclude<Reference, tf.Tensor> {
  const r = checkReference(fn, 'reference', value);
  if (typeof r === 'object' && !Array.isArray(r)) {
    throw new FgvisArgumentError(fn, 'options.reference', 'must be a name or a colour, not a tensor: a tensor cannot cross to the worker threads');
  }
  return r as Exclude<Reference, tf.Tensor>;
}

function checkSettings(fn: string, o: ExplainManyOptions): ExplainSettings {
  const steps = o.steps === undefined ? EXPLAIN_DEFAULTS.steps : positiveInteger(fn, 'steps', o.steps);
  const lambda = o.lambda === undefined || o.lambda === 'auto' ? 'auto' : finiteNumber(fn, 'lambda', o.lambda, { min: 0, label: "'auto' or a non-negative number" });
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new FgvisArgumentError(fn, 'options.seed', `must be an integer, got ${describe(o.seed)}`);
  const c = o.crop;
  if (c !== undefined) {
    for (const k of ['x', 'y'] as const) finiteNumber(fn, `crop.${k}`, c?.[k], { min: 0, label: 'a non-negative integer' });
    for (const k of ['width', 'height'] as const) positiveInteger(fn, `crop.${k}`, c?.[k]);
  }
  return {
    game: o.game === undefined ? EXPLAIN_DEFAULTS.game : oneOf(fn, 'game', o.game, ['preservation', 'deletion'] as const),
    steps,
    lambda,
    reference: o.reference === undefined ? EXPLAIN_DEFAULTS.reference : plainReference(fn, o.reference),
    defense: o.defense ?? EXPLAIN_DEFAULTS.defense,
    seed: o.seed,
    crop: c && { x: c.x, y: c.y, width: c.width, height: c.height },
  };
}

/** The checked run: what every worker gets, and how many workers. */
function checkArguments(model: unknown, images: unknown, options: ExplainManyOptions | undefined): { init: WorkerInit; files: string[]; workers: number; signal?: AbortSignal } {
  const fn = 'explainMany';
  const o = options ?? {};
  if (o === null || typeof o !== 'object') throw new FgvisArgumentError(fn, 'options', `must be an object, got ${describe(o)}`);
  checkOptionNames(fn, o, OPTION_NAMES);
  if (images === null || typeof images !== 'object' || !(Symbol.iterator in images)) {
    throw new FgvisArgumentError(fn, 'images', `must be an iterable of image file paths, got ${describe(images)}`);
  }
  const files = [...(images as Iterable<unknown>)].map((f, i) => {
    if (typeof f !== 'string' || f === '') throw new FgvisArgumentError(fn, `images[${i}]`, `must be a file path, got ${describe(f)}`);
    return f;
  });
  const workers = o.workers === undefined ? availableParallelism() : positiveInteger(fn, 'workers', o.workers);
  if (o.figure !== undefined && typeof o.figure !== 'boolean') throw new FgvisArgumentError(fn, 'options.figure', `must be a boolean, got ${describe(o.figure)}`);
  if (o.defense !== undefined && typeof o.defense !== 'boolean') throw new FgvisArgumentError(fn, 'options.defense', `must be a boolean, got ${describe(o.defense)}`);
  const init: WorkerInit = {
    model: checkModel(fn, model),
    backend: o.backend === undefined ? 'wasm' : oneOf(fn, 'backend', o.backend, ['wasm', 'cpu'] as const),
    target: checkTarget(fn, o.target),
    settings: checkSettings(fn, o),
    figure: o.figure ?? false,
    cwd: resolve(o.cwd ?? process.cwd()),
    maxPixels: o.maxPixels === undefined ? IMAGE_DEFAULTS.maxPixels : positiveInteger(fn, 'maxPixels', o.maxPixels),
  };
  return { init, files, workers: Math.max(1, Math.min(workers, files.length)), signal: o.signal };
}

async function* run(init: WorkerInit, files: string[], workers: number, signal: AbortSignal | undefined): AsyncGenerator<ExplainManyItem, void, undefined> {
  if (signal?.aborted) throw signal.reason ?? abortError();
  if (files.length === 0) return;
  const pool = new ExplainPool(await explainWorkerURL(), init, files, workers);
  const onAbort = () => pool.fail(signal?.reason ?? abortError());
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) throw signal.reason ?? abortError();
    pool.start();
    for (;;) {
      const e = await pool.next();
      if (e.kind === 'end') return;
      if (e.kind === 'fatal') throw e.error;
      if (e.kind === 'done') yield { index: e.index, image: files[e.index]!, result: e.result };
      else yield { index: e.index, image: files[e.index]!, error: e.error };
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await pool.close();
  }
}

/**
 * Explain every image file of `images` with `model`, on a pool of worker
 * threads (`options.workers`, default one per core), each with its own tfjs
 * backend and its own copy of the model, loaded once. Yields one item per
 * image **as it completes** (completion order; `index` is its position in
 * `images`): `{ image, index, result }`, or `{ image, index, error }` when
 * that image failed (e.g. it cannot be read; `error.exitCode` says which kind,
 * as `fgvis` would). A failure that concerns every image (the model cannot be
 * loaded or explained, a package is missing, the target is not a class)
 * makes the iterator throw instead, before any work when it can.
 *
 * Each image is explained as `fgvis explain --image` does it (same reading,
 * preprocessing, defaults and report fields), so a result depends only on
 * the image, the model, the backend and the options: never on the number of
 * workers or on which worker got it. Results are plain data (`mask` and
 * `saliency` as `Float32Array`s, the figure as PNG bytes), nothing to dispose.
 *
 * Ending the loop early (`break`, `return`, an exception) or aborting
 * `options.signal` terminates the workers. Argument errors are thrown by this
 * call itself; the workers start on the first `next()`.
 */
export function explainMany(model: ManyModel, images: Iterable<string>, options?: ExplainManyOptions): AsyncGenerator<ExplainManyItem, void, undefined> {
  const { init, files, workers, signal } = checkArguments(model, images, options);
  return run(init, files, workers, signal);
}

/** What {@link explainFiles} returns. */
export interface ExplainFilesReport {
  /** One item per image, in the order of `images`. */
  items: ExplainManyItem[];
  /** Workers used. */
  workers: number;
  /** Wall-clock seconds of the whole run, from the start of the workers (model loading included) to the last result. */
  seconds: number;
}

/**
 * {@link explainMany}, collected: every image's item in input order, the
 * number of workers and the wall-clock time. Per-image times are in each
 * result (`seconds`: `explain()`, `totalSeconds`: everything in the worker).
 * For throughput measurements: images / `seconds`.
 */
export async function explainFiles(model: ManyModel, images: Iterable<string>, options?: ExplainManyOptions): Promise<ExplainFilesReport> {
  const t = performance.now();
  const { init, files, workers, signal } = checkArguments(model, images, options);
  const items: ExplainManyItem[] = new Array(files.length);
  for await (const item of run(init, files, workers, signal)) items[item.index] = item;
  return { items, workers: files.length === 0 ? 0 : workers, seconds: (performance.now() - t) / 1000 };
}
