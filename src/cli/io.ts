/**
 * What `run()` talks to: output streams, the working directory and an abort
 * signal, so tests can run the CLI in-process and capture its output.
 *
 * @packageDocumentation
 */
import type { BuiltinModel } from '../node/builtin-models';

/** A text sink (`process.stdout`, `process.stderr` or a test capture). */
export interface CliStream {
  write(chunk: string): unknown;
  /** A terminal? The progress bar is drawn only on a TTY stderr. */
  isTTY?: boolean;
  /** Terminal width, if known. */
  columns?: number;
}

/** The environment of one `run()`. */
export interface CliIO {
  /** Results (the summary, `--json -`, `models`, `--help`). */
  stdout: CliStream;
  /** Progress, warnings and errors. */
  stderr: CliStream;
  /** Relative paths are resolved against this folder; default `process.cwd()`. */
  cwd: string;
  /** Aborts a running explanation (exit code 130). */
  signal?: AbortSignal;
  /** The built-in model registry; default `BUILTIN_MODELS` (tests substitute their own). */
  models?: readonly BuiltinModel[];
  /** Whether a package is installed; default: resolvable from fgvis or the working folder (tests substitute their own). */
  installed?: (name: string) => boolean;
}
