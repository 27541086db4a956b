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
  constructor(fn: string, message: string) {
    super(`Error in ${fn}: ${message}`);
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
