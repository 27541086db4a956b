/**
 * Error helpers: every message names the function, the argument, what was
 * expected and what was received, in the style of tfjs-core
 * ("Error in explain: input must be rank 3 or 4, got rank 2").
 *
 * @packageDocumentation
 */

/** An argument or option given to an fgvis function is invalid. */
export class FgvisArgumentError extends Error {
  /** The function that rejected the argument, e.g. `explain`. */
  readonly fn: string;
  /** The argument or option name, e.g. `options.steps`. */
  readonly argument: string;
  constructor(fn: string, argument: string, message: string) {
    super(`Error in ${fn}: ${argument} ${message}`);
    this.name = 'FgvisArgumentError';
    this.fn = fn;
    this.argument = argument;
  }
}

/** A model cannot be explained (wrong output, control flow, no gradient, ...). */
export class FgvisModelError extends Error {
  constructor(fn: string, message: string, options?: { cause?: unknown }) {
    super(`Error in ${fn}: ${message}`, options);
    this.name = 'FgvisModelError';
  }
}

/** Short human-readable description of a received value, for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const v = value as { constructor?: { name?: string }; shape?: unknown; dtype?: unknown };
  if (Array.isArray(v.shape) && typeof v.dtype === 'string') {
    return `a ${v.dtype} tensor of shape [${(v.shape as number[]).join(',')}]`;
  }
  return v.constructor?.name ? `an object of type ${v.constructor.name}` : 'an object';
}

/** Build an `AbortError` like the DOM's, for signals aborted without a reason. */
export function abortError(): Error {
  if (typeof DOMException !== 'undefined') return new DOMException('The operation was aborted.', 'AbortError');
  const e = new Error('The operation was aborted.');
  e.name = 'AbortError';
  return e;
}

/** Throw the signal's reason (an `AbortError` when it has none) if it is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? abortError();
}

/**
 * Turn the errors tfjs throws from a backward pass through a model into
 * `FgvisModelError`s that name the cause (the op without a gradient, a kernel
 * the backend lacks, an output that does not depend on the input). Other
 * errors are returned unchanged.
 */
export function gradientError(fn: string, e: unknown): unknown {
  if (!(e instanceof Error) || e instanceof FgvisModelError || e instanceof FgvisArgumentError) return e;
  const noGradient = /gradient function not found for (\w+)/.exec(e.message);
  if (noGradient) {
    return new FgvisModelError(
      fn,
      `the model uses the op '${noGradient[1]}', which has no registered gradient in tfjs, so the model cannot be ` +
        'differentiated with respect to its input; replace the op, or register a gradient for it with tf.registerGradient',
      { cause: e },
    );
  }
  const noKernel = /[Kk]ernel '(\w+)' not registered for backend '(\w+)'/.exec(e.message);
  if (noKernel) {
    return new FgvisModelError(
      fn,
      `the gradient needs the kernel '${noKernel[1]}', which the '${noKernel[2]}' backend does not have; try another backend`,
      { cause: e },
    );
  }
  if (/Cannot compute gradient of y=f\(x\) with respect to x/.test(e.message)) {
    return new FgvisModelError(fn, "the model's output does not depend on its input (no differentiable path from the input to the score)", {
      cause: e,
    });
  }
  return e;
}

/** Levenshtein distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known name closest to `word` (Levenshtein distance, case-insensitive
 * when `ignoreCase`), if it is within `maxDistance` edits: the "did you mean".
 */
export function closestName(word: string, known: readonly string[], maxDistance = 3, ignoreCase = false): string | undefined {
  const norm = (s: string) => (ignoreCase ? s.toLowerCase() : s);
  const w = norm(word);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(w, norm(k));
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= maxDistance ? best : undefined;
}

/** Reject option names that are not known, suggesting the closest known one. */
export function checkOptionNames(fn: string, options: object, known: readonly string[], prefix = 'options'): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const closest = closestName(key, known);
    const hint = closest !== undefined ? ` (did you mean '${closest}'?)` : '';
    throw new FgvisArgumentError(fn, `${prefix}.${key}`, `is not a known option${hint}; known options: ${known.join(', ')}`);
  }
}
