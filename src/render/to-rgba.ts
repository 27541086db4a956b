/**
 * Turn an image-shaped tensor or array (an input image, a mask, an
 * explanation `m * x`) into an {@link RGBAImage}. Works on tfjs tensors
 * without importing tfjs: anything with `shape` and an async `data()`.
 *
 * @packageDocumentation
 */
import { FgvisArgumentError } from '../util/errors';
import { checkRenderOptions, type RGBAImage } from './image';

/** A tfjs `Tensor` or anything else with a shape and an async `data()` (never read synchronously). */
export interface TensorLike {
  /** [H, W], [H, W, C] or [1, H, W, C], C in 1..4. */
  readonly shape: readonly number[];
  /** Values, row-major (a tfjs `Tensor`'s `data()`). */
  data(): Promise<ArrayLike<number>>;
}

/** A plain array with a shape. */
export interface ArrayWithShape {
  /** [H, W], [H, W, C] or [1, H, W, C], C in 1..4. */
  readonly shape: readonly number[];
  /** Values, row-major. */
  readonly data: ArrayLike<number>;
}

/** Options of {@link toRGBA}. */
export interface ToRGBAOptions {
  /**
   * Value shown as black (0). Default, with `max`: [0, 1] when every finite
   * value lies in [0, 1], else [0, 255] when every value lies there, else the
   * data's own min and max.
   */
  min?: number;
  /** Value shown as white (255). Default: see `min`. */
  max?: number;
}

/**
 * Convert `[H, W, C]` values (C = 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA; also
 * `[H, W]` and `[1, H, W, C]`) into an RGBA image, mapping `[min, max]`
 * linearly onto 0..255 with clipping (alpha channels included). Reads a
 * tensor with `await tensor.data()` and does not dispose it (the caller
 * still owns it). Non-finite values become 0.
 */
export async function toRGBA(input: TensorLike | ArrayWithShape, options: ToRGBAOptions = {}): Promise<RGBAImage> {
  const fn = 'toRGBA';
  if (input == null || !Array.isArray(input.shape)) {
    throw new FgvisArgumentError(fn, 'input', `must be a tensor or {data, shape}, got ${input === null ? 'null' : typeof input}`);
  }
  if ((input as { isDisposed?: boolean }).isDisposed === true) {
    throw new FgvisArgumentError(fn, 'input', `is a disposed tensor; expected a live (undisposed) tensor`);
  }
  checkRenderOptions(fn, options, ['min', 'max']);
  let shape = input.shape.slice();
  if (shape.length === 4 && shape[0] === 1) shape = shape.slice(1);
  if (shape.length === 2) shape = [shape[0], shape[1], 1];
  if (shape.length !== 3 || shape[2] < 1 || shape[2] > 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new FgvisArgumentError(fn, 'input', `must have shape [H, W], [H, W, C] or [1, H, W, C] with C in 1..4, got [${input.shape.join(', ')}]`);
  }
  const [height, width, channels] = shape;
  const values = typeof input.data === 'function' ? await (input as TensorLike).data() : (input as ArrayWithShape).data;
  if (values.length !== height * width * channels) {
    throw new FgvisArgumentError(fn, 'input', `has ${values.length} values, shape [${input.shape.join(', ')}] needs ${height * width * channels}`);
  }
  const [min, max] = range(values, options);
  const scale = max > min ? 255 / (max - min) : 0;
  const byte = (v: number): number => (Number.isFinite(v) ? (v - min) * scale : 0);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let p = 0, s = 0, o = 0; p < width * height; p++, s += channels, o += 4) {
    if (channels <= 2) {
      const g = byte(values[s]);
      data[o] = g;
      data[o + 1] = g;
      data[o + 2] = g;
      data[o + 3] = channels === 2 ? byte(values[s + 1]) : 255;
    } else {
      data[o] = byte(values[s]);
      data[o + 1] = byte(values[s + 1]);
      data[o + 2] = byte(values[s + 2]);
      data[o + 3] = channels === 4 ? byte(values[s + 3]) : 255;
    }
  }
  return { width, height, data };
}

function range(values: ArrayLike<number>, options: ToRGBAOptions): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  if (options.min === undefined || options.max === undefined) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  let dmin: number;
  let dmax: number;
  if (!Number.isFinite(lo)) [dmin, dmax] = [0, 1];
  else if (lo >= 0 && hi <= 1) [dmin, dmax] = [0, 1];
  else if (lo >= 0 && hi <= 255) [dmin, dmax] = [0, 255];
  else [dmin, dmax] = [lo, hi];
  const min = options.min ?? dmin;
  const max = options.max ?? dmax;
  if (!Number.isFinite(min) || !Number.isFinite(max) || max < min) {
    throw new FgvisArgumentError('toRGBA', 'options.min', `and options.max must be finite with min <= max, got ${min} and ${max}`);
  }
  return [min, max];
}
