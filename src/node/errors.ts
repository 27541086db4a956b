/**
 * The errors of files from strangers: an image that cannot or will not be
 * decoded, a model file that is refused. Each has a stable machine-readable
 * `code`, names the file, and has a one-line message, so a caller that runs
 * over many files (the dataset mode) can log `{ image, error }` and go on.
 *
 * @packageDocumentation
 */
import { FgvisArgumentError, FgvisModelError } from '../util/errors';

/**
 * Why an image was refused:
 * - `not-found`: the file does not exist;
 * - `not-a-file`: a folder, a device, a pipe;
 * - `unreadable`: the file system refused to read it;
 * - `unsupported`: a format, or a variant of one, that fgvis does not decode
 *   (GIF, HEIC, arithmetic-coded JPEG, animated WebP, ...); the message names it;
 * - `corrupt`: not a well-formed image of its format;
 * - `too-large`: over the pixel limit (`options.maxPixels`, `--max-pixels`),
 *   or a file larger than any image within that limit; refused before decoding.
 */
export type ImageErrorCode = 'not-found' | 'not-a-file' | 'unreadable' | 'unsupported' | 'corrupt' | 'too-large';

/** One line: runs of white space (newlines included) become one space. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * An image that fgvis cannot or will not decode. It is an
 * {@link FgvisArgumentError} (the image is an argument of the call), never an
 * internal error. The message is one line,
 * `Error in <fn>: <source> <reason>`, e.g.
 * `Error in readImage: image file "a.png" is 20000x20000 pixels (400 megapixels), over the limit of 50 megapixels (...)`.
 */
export class FgvisImageError extends FgvisArgumentError {
  /** Why: see {@link ImageErrorCode}. */
  readonly code: ImageErrorCode;
  /** The path of the file, or the name given to `decodeImage` for bytes. */
  readonly source: string;
  /** The format found by magic number (`png`, `jpeg`, `webp`, `gif`, `heic`, ...), when known. */
  readonly format: string | undefined;
  /** The message without the function and the source: what is wrong, one line. */
  readonly reason: string;
  constructor(
    fn: string,
    what: string,
    details: { source: string; code: ImageErrorCode; reason: string; format?: string; cause?: unknown },
  ) {
    const reason = oneLine(details.reason);
    super(fn, what, reason);
    this.name = 'FgvisImageError';
    this.code = details.code;
    this.source = details.source;
    this.format = details.format;
    this.reason = reason;
    if (details.cause !== undefined) (this as { cause?: unknown }).cause = details.cause;
  }
}

/**
 * Why a model file was refused:
 * - `not-found`: a weight file listed in the manifest does not exist;
 * - `unreadable`: the file system refused to read a file;
 * - `invalid`: not JSON, not a tfjs model, or a malformed `weightsManifest`
 *   (a missing field, an unknown dtype, an absurd shape);
 * - `outside-folder`: a weight path leads out of the model's folder
 *   (allowed only with `allowWeightsOutsideFolder`);
 * - `size-mismatch`: the weight files hold another number of bytes than the manifest declares;
 * - `too-large`: more weight bytes than `maxWeightBytes`, or a model.json
 *   over {@link MAX_MODEL_JSON_BYTES};
 * - `load-failed`: tfjs could not build the model from the files.
 */
export type ModelFileErrorCode = 'not-found' | 'unreadable' | 'invalid' | 'outside-folder' | 'size-mismatch' | 'too-large' | 'load-failed';

/**
 * A model.json (or one of its weight files) that fgvis refuses to load. It is
 * an {@link FgvisModelError} (CLI exit code 6). The message is one line,
 * `Error in <fn>: model file "<path>" <reason>`.
 */
export class FgvisModelFileError extends FgvisModelError {
  /** Why: see {@link ModelFileErrorCode}. */
  readonly code: ModelFileErrorCode;
  /** The model.json's path. */
  readonly file: string;
  /** The message without the function and the file: what is wrong, one line. */
  readonly reason: string;
  constructor(fn: string, file: string, code: ModelFileErrorCode, reason: string, options?: { cause?: unknown }) {
    const r = oneLine(reason);
    super(fn, `model file ${JSON.stringify(file)} ${r}`, options);
    this.name = 'FgvisModelFileError';
    this.code = code;
    this.file = file;
    this.reason = r;
  }
}
