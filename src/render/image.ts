/**
 * The RGBA image buffer every render function produces and consumes.
 *
 * Layout is row-major, 4 bytes per pixel (R, G, B, A), exactly like the
 * browser's `ImageData`, so a result can be drawn on a canvas with
 * `ctx.putImageData(new ImageData(img.data, img.width, img.height), 0, 0)`
 * and encoded to PNG in Node with `fgvis/node`'s `encodePNG`.
 *
 * @packageDocumentation
 */
import { checkOptionNames, describe, FgvisArgumentError } from '../util/errors';

/** An 8-bit RGBA image: `data.length === width * height * 4`, row-major. */
export interface RGBAImage {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Pixels, row-major, 4 bytes each (R, G, B, A). */
  readonly data: Uint8ClampedArray;
}

/** An RGBA colour, each component 0..255. */
export type RGBA = readonly [number, number, number, number];

/**
 * Throw unless `options` is undefined or an object whose names are all in
 * `known` (a typo is never silently ignored).
 */
export function checkRenderOptions(fn: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new FgvisArgumentError(fn, 'options', `must be an object, got ${describe(options)}`);
  }
  checkOptionNames(fn, options, known);
}

/** Throw unless `color` is `[r, g, b, a]` with every component a number in 0..255. */
export function checkColor(fn: string, argument: string, color: unknown): void {
  if (!Array.isArray(color) || color.length !== 4 || color.some((c) => typeof c !== 'number' || !(c >= 0 && c <= 255))) {
    throw new FgvisArgumentError(fn, argument, `must be [r, g, b, a] with components in 0..255, got ${Array.isArray(color) ? `[${color.join(', ')}] (${describe(color)})` : describe(color)}`);
  }
}

/** Throw unless `value` is a finite integer (used for positions). */
export function checkInteger(fn: string, argument: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new FgvisArgumentError(fn, argument, `must be a finite number (pixels), got ${describe(value)}`);
  }
}

/** Throw unless `value` is a positive integer (used for sizes). */
export function checkSize(fn: string, argument: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new FgvisArgumentError(fn, argument, `must be a positive integer, got ${String(value)}`);
  }
}

/** Throw unless `image` is a well-formed {@link RGBAImage}. */
export function checkImage(fn: string, argument: string, image: unknown): asserts image is RGBAImage {
  const im = image as { width?: unknown; height?: unknown; data?: unknown } | null | undefined;
  if (im == null || typeof im !== 'object' || !(im.data instanceof Uint8ClampedArray)) {
    throw new FgvisArgumentError(fn, argument, `must be an RGBAImage {width, height, data: Uint8ClampedArray}, got ${describe(image)}`);
  }
  checkSize(fn, `${argument}.width`, im.width);
  checkSize(fn, `${argument}.height`, im.height);
  if (im.data.length !== (im.width as number) * (im.height as number) * 4) {
    throw new FgvisArgumentError(fn, `${argument}.data`, `must have width*height*4 = ${(im.width as number) * (im.height as number) * 4} bytes, got ${im.data.length}`);
  }
}

/**
 * Create a new image of the given size filled with one colour
 * (transparent black `[0, 0, 0, 0]` when `fill` is omitted).
 */
export function createImage(width: number, height: number, fill: RGBA = [0, 0, 0, 0]): RGBAImage {
  checkSize('createImage', 'width', width);
  checkSize('createImage', 'height', height);
  checkColor('createImage', 'fill', fill);
  const data = new Uint8ClampedArray(width * height * 4);
  if (fill[0] !== 0 || fill[1] !== 0 || fill[2] !== 0 || fill[3] !== 0) {
    for (let i = 0; i < data.length; i += 4) {
      data[i] = fill[0];
      data[i + 1] = fill[1];
      data[i + 2] = fill[2];
      data[i + 3] = fill[3];
    }
  }
  return { width, height, data };
}

/** Options of {@link drawImage}. */
export interface DrawImageOptions {
  /**
   * `copy` (default) replaces the pixels, alpha included; `over` composites
   * `src` over `dst` by `src`'s alpha (Porter-Duff source-over).
   */
  mode?: 'copy' | 'over';
}

/**
 * Draw `src` into `dst` (in place) with its top-left corner at (`x`, `y`),
 * clipped to `dst`. Returns `dst`.
 */
export function drawImage(dst: RGBAImage, src: RGBAImage, x: number, y: number, options: DrawImageOptions = {}): RGBAImage {
  checkImage('drawImage', 'dst', dst);
  checkImage('drawImage', 'src', src);
  checkInteger('drawImage', 'x', x);
  checkInteger('drawImage', 'y', y);
  checkRenderOptions('drawImage', options, ['mode']);
  const mode = options.mode ?? 'copy';
  if (mode !== 'copy' && mode !== 'over') throw new FgvisArgumentError('drawImage', 'options.mode', `must be "copy" or "over", got ${describe(mode)}`);
  const rx = Math.round(x);
  const ry = Math.round(y);
  const x0 = Math.max(0, rx);
  const y0 = Math.max(0, ry);
  const x1 = Math.min(dst.width, rx + src.width);
  const y1 = Math.min(dst.height, ry + src.height);
  if (x1 <= x0 || y1 <= y0) return dst;
  for (let row = y0; row < y1; row++) {
    const s = ((row - ry) * src.width + (x0 - rx)) * 4;
    const d = (row * dst.width + x0) * 4;
    const n = (x1 - x0) * 4;
    if (mode === 'copy') {
      dst.data.set(src.data.subarray(s, s + n), d);
      continue;
    }
    for (let k = 0; k < n; k += 4) {
      const sa = src.data[s + k + 3] / 255;
      if (sa === 0) continue;
      const da = dst.data[d + k + 3] / 255;
      const oa = sa + da * (1 - sa);
      for (let c = 0; c < 3; c++) {
        dst.data[d + k + c] = (src.data[s + k + c] * sa + dst.data[d + k + c] * da * (1 - sa)) / oa;
      }
      dst.data[d + k + 3] = oa * 255;
    }
  }
  return dst;
}
