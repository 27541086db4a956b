/**
 * Exit codes and the error type of the `fgvis` command-line tool. Every
 * failure becomes one line on stderr and one of these exit codes.
 *
 * @packageDocumentation
 */
import { FgvisArgumentError, FgvisModelError } from '../util/errors';
import { FgvisImageError, FgvisModelFileError } from '../node/errors';
import { MissingPackageError } from '../node/resolve-package';

/** The exit codes of `fgvis` (documented in `fgvis --help`). */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** An unexpected internal error (a bug: please report it with `--verbose` output). */
  INTERNAL: 1,
  /** Invalid command line: unknown option, bad option value, missing argument. */
  USAGE: 2,
  /** A file named on the command line does not exist (image, model, labels). */
  NOT_FOUND: 3,
  /** The image cannot be decoded or is refused: not PNG/JPEG/WebP, an unsupported variant, corrupt, or over `--max-pixels`. */
  BAD_IMAGE: 4,
  /** The target is not a class of the model (by name or index). */
  BAD_TARGET: 5,
  /** The model cannot be loaded or explained: refused model files (weights outside its folder, sizes that differ from the manifest, absurd shapes), not differentiable, ... */
  MODEL: 6,
  /** A package is missing (a built-in model's, a tfjs backend, tfjs-layers); the message names the install command. */
  MISSING_PACKAGE: 7,
  /** An output file cannot be written. */
  WRITE: 8,
  /** `--images`: some images failed (listed in errors.jsonl); the others were explained. */
  SOME_FAILED: 9,
  /** Interrupted (Ctrl-C). */
  ABORTED: 130,
} as const;

/** One of the {@link EXIT} codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The lines `fgvis --help` shows for the exit codes. */
export const EXIT_CODE_HELP = [
  'Exit codes:',
  '  0    success',
  '  1    internal error (a bug; rerun with --verbose and report it)',
  '  2    invalid command line (unknown option, bad value)',
  '  3    file not found (image, model, labels)',
  '  4    image cannot be read: not PNG/JPEG/WebP, an unsupported kind, corrupt, or over --max-pixels',
  '  5    target is not a class of the model',
  '  6    model cannot be loaded or explained (a refused model file, e.g. weights outside its folder; not differentiable)',
  '  7    missing package (the message names the npm install command)',
  '  8    output file cannot be written',
  '  9    --images: some images failed (see errors.jsonl); the others were explained',
  '  130  interrupted',
].join('\n');

/** A failure of the CLI with its exit code and a one-line message. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A library error message without its `Error in fn: ` prefix, on one line. */
export function plainMessage(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/^Error in \w+: /, '').replace(/\s*\n\s*/g, ' ').trim();
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/** The exit code and the one-line message for any error thrown by a command. */
export function classify(e: unknown): { code: ExitCode; message: string } {
  if (e instanceof CliError) return { code: e.exitCode, message: plainMessage(e) };
  if (isAbort(e)) return { code: EXIT.ABORTED, message: 'interrupted' };
  if (e instanceof MissingPackageError) return { code: EXIT.MISSING_PACKAGE, message: plainMessage(e) };
  if (e instanceof FgvisImageError) {
    return { code: e.code === 'not-found' || e.code === 'not-a-file' ? EXIT.NOT_FOUND : EXIT.BAD_IMAGE, message: plainMessage(e) };
  }
  if (e instanceof FgvisModelFileError) return { code: EXIT.MODEL, message: `the model cannot be loaded: ${plainMessage(e)}` };
  if (e instanceof FgvisModelError) return { code: EXIT.MODEL, message: `the model cannot be explained: ${plainMessage(e)}` };
  if (e instanceof FgvisArgumentError && e.argument === 'target') return { code: EXIT.BAD_TARGET, message: plainMessage(e) };
  if (e instanceof FgvisArgumentError) return { code: EXIT.USAGE, message: plainMessage(e) };
  return { code: EXIT.INTERNAL, message: `internal error: ${plainMessage(e)}` };
}
