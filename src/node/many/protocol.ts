/**
 * What the main thread and an explain worker say to each other. Everything
 * here is plain data (structured-clone safe): a model object or a tensor
 * cannot cross threads, so a worker is told how to load the model and
 * answers with numbers and typed arrays.
 *
 * @packageDocumentation
 */
import type { BackendName, RangeName, TargetSpec } from '../../cli/args';
import { EXIT } from '../../cli/errors';
import type { ExplainSettings, ReportFields } from '../../cli/explain-image';

/** How a worker finds and feeds the model: the CLI's `--model`, `--range`, `--size`, `--labels`, or class names. */
export interface WorkerModel {
  /** A built-in model name, or a path to a model.json (or its folder). */
  model: string;
  range?: RangeName;
  size?: { width: number; height: number };
  /** A labels file (one class name per line, or a JSON array). */
  labels?: string;
  /** Class names in output order (instead of a labels file). */
  classes?: readonly string[];
  /** Weight files may lie outside the model's folder (the CLI's `--allow-outside-weights`). */
  allowOutsideWeights?: boolean;
}

/** What every worker gets when it starts (`workerData`). */
export interface WorkerInit {
  model: WorkerModel;
  backend: BackendName;
  target: TargetSpec;
  settings: ExplainSettings;
  /** Render the figure and send it back as PNG bytes. */
  figure: boolean;
  /** Relative image, model and labels paths are resolved against this folder. */
  cwd: string;
  /** Images (and model inputs) over this many pixels are refused (the CLI's `--max-pixels`). */
  maxPixels: number;
}

/** One image to explain. */
export interface Task {
  id: number;
  /** The image file (relative to `WorkerInit.cwd`, or absolute). */
  image: string;
}

/** One explanation, as plain data: the `--json` fields, the mask and saliency values, and the figure when asked for. */
export interface ManyResult extends ReportFields {
  /** The mask's values, row-major in the input's shape `inputShape` (`[1, H, W, C]`), in [0, 1]. */
  mask: Float32Array;
  /** The saliency map's values, row-major `[H, W]`, in [0, 1] (channel mean of the mask, or of `1 - mask` for deletion). */
  saliency: Float32Array;
  /** The figure `fgvis explain` draws (without the time in its title: the same image, the same bytes), as PNG bytes; only with `figure: true`. */
  figure?: Uint8Array;
  /** Seconds the worker spent on this image: reading, preprocessing, `explain()` (`seconds`), the figure. */
  totalSeconds: number;
}

/** An error on its way between threads: the one-line message and the `fgvis` exit code of its kind. */
export interface SerializedError {
  name: string;
  message: string;
  exitCode: number;
}

/** Main thread to worker. */
export type ToWorker = { type: 'task'; task: Task };

/** Worker to main thread. */
export type FromWorker =
  | { type: 'ready'; seconds: number }
  | { type: 'init-failed'; error: SerializedError }
  | { type: 'done'; id: number; result: ManyResult }
  | { type: 'failed'; id: number; error: SerializedError };

/**
 * Exit codes of failures that are not about one image but about the whole
 * run (the model cannot be loaded or explained, a package is missing, the
 * target is not a class): they stop the run instead of being reported per
 * image.
 */
export const FATAL_EXIT_CODES: readonly number[] = [EXIT.BAD_TARGET, EXIT.MODEL, EXIT.MISSING_PACKAGE];

/** An error from an explain worker: its one-line message, and the `fgvis` exit code of its kind (e.g. 4 unreadable image). */
export class ExplainManyError extends Error {
  /** The `fgvis` exit code this kind of failure has (3 file not found, 4 unreadable image, 6 model, 7 missing package, 1 internal, ...). */
  readonly exitCode: number;
  constructor(e: SerializedError) {
    super(e.message);
    this.name = 'ExplainManyError';
    this.exitCode = e.exitCode;
  }
}
